import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleRelease } from '../lib/ops/bundle-release.js';
import { cleanScratch, scratchDir } from './support/synth.js';

// Bundles a tiny stand-in for the broker (its real build is `make aws-bundle`): the
// same code path, in seconds, with local dependencies so npm needs no network.

// file: dependencies are locked by relative path (../vendor/...), so the temporary copy
// is staged beside the repo, where that path still resolves.
function makeFakeRepo(): { repo: string; root: string } {
  const root = scratchDir('mom-fake-broker-');
  const vendor = join(root, 'vendor');
  for (const name of ['prod-dep', 'dev-dep']) {
    mkdirSync(join(vendor, name), { recursive: true });
    writeFileSync(join(vendor, name, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(vendor, name, 'index.js'), `module.exports = '${name}';\n`);
  }
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'dist'), { recursive: true });
  mkdirSync(join(repo, 'proto'), { recursive: true });
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(
    join(repo, 'package.json'),
    JSON.stringify({
      name: 'fake-broker',
      version: '1.2.3',
      private: true,
      dependencies: { 'prod-dep': `file:${join(vendor, 'prod-dep')}` },
      devDependencies: { 'dev-dep': `file:${join(vendor, 'dev-dep')}` },
    }),
  );
  writeFileSync(join(repo, 'dist', 'main.js'), 'console.log("broker");\n');
  writeFileSync(join(repo, 'proto', 'raft.proto'), 'syntax = "proto3";\n');
  writeFileSync(join(repo, 'src', 'main.ts'), 'not shipped\n');
  const lock = spawnSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', '--offline'], { cwd: repo, encoding: 'utf8' });
  if (lock.status !== 0) throw new Error(lock.stderr);
  return { repo, root };
}

function tarListing(file: string): string[] {
  const listed = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
  return listed.stdout.split('\n').filter(Boolean).map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')).filter(Boolean);
}

afterAll(cleanScratch);

describe('release bundle', () => {
  test('holds dist/, proto/, the manifest and production dependencies only', () => {
    const { repo, root } = makeFakeRepo();
    const out = join(scratchDir('mom-bundle-out-'), 'release.tar.gz');
    const lines: string[] = [];
    const result = bundleRelease({ repoRoot: repo, outFile: out, stagingParent: root, log: (l) => lines.push(l) });
    expect(result.outFile).toBe(out);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    const files = tarListing(out);
    expect(files).toEqual(expect.arrayContaining(['dist/main.js', 'proto/raft.proto', 'package.json', 'package-lock.json', 'release.json', 'node_modules/prod-dep']));
    expect(files.some((f) => f.includes('dev-dep'))).toBe(false);
    expect(files.some((f) => f.startsWith('src'))).toBe(false);
    const manifest = spawnSync('tar', ['-xzOf', out, './release.json'], { encoding: 'utf8' });
    expect(JSON.parse(manifest.stdout)).toMatchObject({ name: 'fake-broker', version: '1.2.3' });
    expect(lines.at(-1)).toContain(result.sha256);

    // Same inputs, same bytes: an unchanged build is not a new release.
    const again = bundleRelease({ repoRoot: repo, outFile: join(scratchDir('mom-bundle-out-'), 'release.tar.gz'), stagingParent: root });
    const gnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout.includes('GNU tar');
    if (gnuTar) expect(again.sha256).toBe(result.sha256);
  });

  test('refuses to bundle without a build', () => {
    const repo = scratchDir('mom-unbuilt-');
    writeFileSync(join(repo, 'package.json'), '{}');
    writeFileSync(join(repo, 'package-lock.json'), '{}');
    expect(() => bundleRelease({ repoRoot: repo, outFile: join(repo, 'out.tar.gz') })).toThrow(/dist\/main\.js is missing: run `make build`/);
  });
});
