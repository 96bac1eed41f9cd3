// Process tests run the built node (dist/main.js). A missing or stale build would test
// yesterday's code, so such a suite fails with the command that fixes it instead of
// running or skipping. `make test` builds first.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** The sources under src/ whose dist/ output is missing or older than they are. */
export function staleBuildOutputs(root = ROOT): string[] {
  const stale: string[] = [];
  for (const source of sources(join(root, 'src'))) {
    const rel = relative(join(root, 'src'), source);
    const output = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
    if (!existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs) stale.push(rel);
  }
  return stale;
}

/** Throws unless dist/ holds a build of the current src/. */
export function requireFreshBuild(): void {
  const stale = staleBuildOutputs();
  if (stale.length === 0) return;
  const shown = stale.slice(0, 5).join(', ') + (stale.length > 5 ? `, and ${stale.length - 5} more` : '');
  throw new Error(`dist/ is missing or older than src/ (${shown}): run \`make build\`, or \`make test\`, which builds first`);
}
