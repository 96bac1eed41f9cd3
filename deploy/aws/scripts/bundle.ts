import { resolve } from 'node:path';
import { bundleRelease } from '../lib/ops/bundle-release.js';

// `make aws-bundle`: node --import tsx scripts/bundle.ts <repoRoot> <outFile>
const [repoRoot = '../..', outFile = 'build/release.tar.gz'] = process.argv.slice(2);
try {
  bundleRelease({ repoRoot: resolve(repoRoot), outFile: resolve(outFile), log: (line) => console.log(line) });
} catch (error) {
  console.error(`aws-bundle: ${(error as Error).message}`);
  process.exit(1);
}
