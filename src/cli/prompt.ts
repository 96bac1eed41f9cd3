// Reading a password: --password-stdin (first line of stdin), MOM_PASSWORD, or a prompt
// on the terminal that does not echo what is typed.
import type { Io } from './output.js';
import { UsageError } from './exit-codes.js';

export async function readPassword(io: Io, env: NodeJS.ProcessEnv, opts: { fromStdin: boolean; given?: string }): Promise<string> {
  if (opts.given !== undefined) return opts.given;
  if (opts.fromStdin) return (await firstLine(io)).replace(/\r$/, '');
  if (env.MOM_PASSWORD !== undefined) return env.MOM_PASSWORD;
  const stdin = io.stdin as NodeJS.ReadStream;
  if (stdin.isTTY !== true || typeof stdin.setRawMode !== 'function') {
    throw new UsageError('no password: use --password-stdin, MOM_PASSWORD, or run on a terminal');
  }
  io.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            io.stderr.write('\n');
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            io.stderr.write('\n');
            reject(new UsageError('interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function firstLine(io: Io): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl);
  }
  return text;
}
