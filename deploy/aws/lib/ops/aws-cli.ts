import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// A thin, promise-based wrapper over the AWS CLI v2. The operational scripts use the
// CLI rather than the SDK: it is needed anyway for `aws ssm start-session`, it honours
// every credential source the user already set up, and it keeps this package small.

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function findExecutable(name: string, pathVariable = process.env.PATH ?? ''): string | null {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function runAwsSync(args: string[], env: NodeJS.ProcessEnv = process.env): CommandResult {
  const result = spawnSync('aws', args, { env, encoding: 'utf8', timeout: 60_000 });
  if (result.error) return { status: 127, stdout: '', stderr: result.error.message };
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export function runAws(args: string[]): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn('aws', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => resolvePromise({ status: 127, stdout, stderr: error.message }));
    child.on('close', (code) => resolvePromise({ status: code ?? 1, stdout, stderr }));
  });
}

export class AwsCliError extends Error {
  constructor(
    readonly args: string[],
    readonly result: CommandResult,
  ) {
    super(`aws ${args.slice(0, 2).join(' ')} failed (exit ${result.status}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export async function awsJson<T>(args: string[]): Promise<T> {
  const full = [...args, '--output', 'json'];
  const result = await runAws(full);
  if (result.status !== 0) throw new AwsCliError(full, result);
  return JSON.parse(result.stdout || 'null') as T;
}

/** Runs an interactive AWS CLI command (session, log tail) on this terminal. */
export function runAwsInteractive(args: string[]): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn('aws', args, { stdio: 'inherit' });
    child.on('error', () => resolvePromise(127));
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}
