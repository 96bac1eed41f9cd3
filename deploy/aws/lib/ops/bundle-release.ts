import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// The release tarball the nodes run: the broker's compiled dist/ plus its production
// node_modules, installed from the lockfile in a temporary copy so the developer's own
// node_modules (with dev dependencies) is never shipped.

export interface BundleOptions {
  /** Root of the broker repository (holds package.json, package-lock.json, dist/). */
  repoRoot: string;
  outFile: string;
  npmCommand?: string;
  /** Where the temporary copy is made (default: the OS temp dir). */
  stagingParent?: string;
  log?: (line: string) => void;
}

export interface BundleResult {
  outFile: string;
  sha256: string;
  bytes: number;
}

/** Runtime files beside dist/ that the node may read (e.g. .proto definitions). */
const OPTIONAL_RUNTIME_DIRS = ['proto'];

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const result = spawnSync(command, args, { cwd, env: env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} ${args.join(' ')} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

function gitDescription(repoRoot: string): { commit: string | null; dirty: boolean | null } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, dirty: null };
  const status = spawnSync('git', ['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim() !== '' : null };
}

/** GNU tar can write a reproducible archive: same inputs, same bytes, same asset hash. */
function tarArgs(outFile: string, dir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const version = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  const gnu = version.status === 0 && version.stdout.includes('GNU tar');
  const reproducible = gnu ? ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'] : [];
  return { args: [...reproducible, '-czf', outFile, '-C', dir, '.'], env: { ...process.env, GZIP: '-n' } };
}

export function bundleRelease(options: BundleOptions): BundleResult {
  const log = options.log ?? (() => {});
  const repoRoot = resolve(options.repoRoot);
  const outFile = resolve(options.outFile);
  for (const required of ['package.json', 'package-lock.json', 'dist/main.js']) {
    if (!existsSync(join(repoRoot, required))) {
      throw new Error(`${join(repoRoot, required)} is missing: run \`make build\` in the repository root first`);
    }
  }

  const staging = mkdtempSync(join(options.stagingParent ?? tmpdir(), 'mom-release-'));
  try {
    cpSync(join(repoRoot, 'package.json'), join(staging, 'package.json'));
    cpSync(join(repoRoot, 'package-lock.json'), join(staging, 'package-lock.json'));
    if (existsSync(join(repoRoot, '.npmrc'))) cpSync(join(repoRoot, '.npmrc'), join(staging, '.npmrc'));
    cpSync(join(repoRoot, 'dist'), join(staging, 'dist'), { recursive: true });
    for (const dir of OPTIONAL_RUNTIME_DIRS) {
      if (existsSync(join(repoRoot, dir))) cpSync(join(repoRoot, dir), join(staging, dir), { recursive: true });
    }

    log(`installing production dependencies in ${staging}`);
    run(options.npmCommand ?? 'npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], staging);

    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name?: string; version?: string };
    const release = { name: pkg.name ?? null, version: pkg.version ?? null, ...gitDescription(repoRoot) };
    writeFileSync(join(staging, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);

    mkdirSync(dirname(outFile), { recursive: true });
    rmSync(outFile, { force: true });
    const tar = tarArgs(outFile, staging);
    run('tar', tar.args, staging, tar.env);

    const bytes = readFileSync(outFile);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    log(`release ${outFile}: ${bytes.length} bytes, sha256 ${sha256}`);
    return { outFile, sha256, bytes: bytes.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
