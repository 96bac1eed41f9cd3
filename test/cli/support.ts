// Runs the built `mom` (dist/cli/main.js) as a user would, with its own config dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOM_BIN = 'dist/cli/main.js';

export interface MomResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class MomRunner {
  readonly configHome = mkdtempSync(join(tmpdir(), 'mom-cli-test-'));

  constructor(public urls: string[]) {}

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const { MOM_TOKEN: _t, MOM_PASSWORD: _p, ...rest } = process.env;
    return { ...rest, XDG_CONFIG_HOME: this.configHome, MOM_URL: this.urls.join(','), ...extra };
  }

  /** Starts `mom ARGS` with `input` on its stdin, or the file `inputFile` as its stdin (`mom ... < file`). */
  spawn(args: string[], opts: { input?: string; inputFile?: string; env?: Record<string, string> } = {}): { child: ChildProcess; done: Promise<MomResult> } {
    const fd = opts.inputFile === undefined ? undefined : openSync(opts.inputFile, 'r');
    const child = spawn(process.execPath, [MOM_BIN, ...args], { env: this.env(opts.env), stdio: [fd ?? 'pipe', 'pipe', 'pipe'] });
    if (fd !== undefined) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    if (child.stdin !== null) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    }
    const done = new Promise<MomResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, done };
  }

  run(args: string[], opts: { input?: string; inputFile?: string; env?: Record<string, string> } = {}): Promise<MomResult> {
    return this.spawn(args, opts).done;
  }
}
