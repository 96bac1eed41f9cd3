// `mom`: finds the command, parses its options, builds the client from --url / MOM_URL
// / the saved login, runs it and turns any failure into an exit code and a message.
import { readFileSync } from 'node:fs';
import { MomClient } from '../client/index.js';
import { GLOBAL_HELP, GLOBAL_OPTIONS, intOption, parse, stringOption, type OptionSpec } from './args.js';
import { COMMANDS } from './commands/index.js';
import { loadConfig } from './config.js';
import { EXIT, NotLoggedInError, UsageError, failure } from './exit-codes.js';
import { Output, type Io } from './output.js';
import type { Command, Context } from './command.js';

const DEFAULT_URL = 'http://127.0.0.1:8001';

const EXIT_HELP = `Exit codes:
  0    ok
  1    usage error (unknown command or option, bad argument)
  2    the broker answered with an error; its code is printed (not_found, forbidden, ...)
  3    connection failure: no node reachable, or answers lost, after retries
  4    not logged in (run mom login USER)
  130  interrupted`;

function usageLine(c: Command): string {
  return `mom ${c.words.join(' ')}${c.usage === '' ? '' : ' ' + c.usage}`;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => usageLine(c).length));
  return [
    'mom: the command-line client of the mom broker',
    '',
    'Usage: mom COMMAND [ARGS] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${usageLine(c).padEnd(width)}  ${c.summary}`),
    '',
    GLOBAL_HELP,
    '',
    EXIT_HELP,
    '',
    'mom COMMAND --help shows the options of one command.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`Usage: ${usageLine(c)}`, '', c.summary, ...(c.help ? ['', c.help] : []), '', GLOBAL_HELP].join('\n');
}

/** All options of all commands, to find the command words wherever options sit. */
function allOptions(): OptionSpec {
  return Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})) as OptionSpec;
}

function findCommand(positionals: string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.words.every((w, i) => positionals[i] === w) && (best === undefined || c.words.length > best.words.length)) best = c;
  }
  return best;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: Io, signal: AbortSignal): Promise<number> {
  let json = argv.includes('--json');
  const out = (): Output => new Output(io, json);
  let client: MomClient | undefined;
  try {
    const first = parse(argv, allOptions());
    json = first.values.json === true;
    if (first.values.version === true) {
      out().line(version());
      return EXIT.ok;
    }
    const command = findCommand(first.positionals);
    if (command === undefined) {
      if (first.positionals.length === 0) {
        (first.values.help === true ? io.stdout : io.stderr).write(mainHelp() + '\n');
        return first.values.help === true ? EXIT.ok : EXIT.usage;
      }
      const group = COMMANDS.filter((c) => c.words[0] === first.positionals[0]);
      if (group.length > 0 && (first.values.help === true || first.positionals.length === 1)) {
        const width = Math.max(...group.map((c) => usageLine(c).length));
        const text = group.map((c) => `  ${usageLine(c).padEnd(width)}  ${c.summary}`).join('\n') + '\n';
        if (first.values.help === true) {
          io.stdout.write(text);
          return EXIT.ok;
        }
        io.stderr.write(text);
        return EXIT.usage;
      }
      throw new UsageError(`unknown command "${first.positionals.join(' ')}" (mom --help lists them)`);
    }
    if (first.values.help === true) {
      out().line(commandHelp(command));
      return EXIT.ok;
    }
    const { values, positionals } = parse(argv, { ...GLOBAL_OPTIONS, ...command.options });
    const args = positionals.slice(command.words.length);
    const [min, max] = command.args;
    if (args.length < min || args.length > max) throw new UsageError(`wrong number of arguments\nUsage: ${usageLine(command)}`);

    const config = loadConfig(env);
    const urlList = stringOption(values, 'url') ?? env.MOM_URL ?? config.urls?.join(',') ?? DEFAULT_URL;
    const urls = urlList.split(',').map((u) => u.trim()).filter((u) => u !== '');
    for (const u of urls) {
      if (!URL.canParse(u)) throw new UsageError(`not a URL: ${JSON.stringify(u)}`);
    }
    if (urls.length === 0) throw new UsageError('no broker URL (--url or MOM_URL)');
    const token = stringOption(values, 'token') ?? env.MOM_TOKEN ?? config.token;
    const timeoutMs = intOption(values, 'timeout', 1, 600_000);
    const retryFor = intOption(values, 'retry-for', 0, 3_600_000);
    const ctx: Context = {
      out: out(), env, values, args, signal, urls, config,
      client: () => {
        if (command.auth !== false && (token === undefined || token === '')) {
          throw new NotLoggedInError('not logged in: run mom login USER (or set MOM_TOKEN)');
        }
        client ??= new MomClient({ urls, token: command.auth === false ? undefined : token, timeoutMs, ...(retryFor !== undefined && { retry: { deadlineMs: retryFor } }) });
        return client;
      },
    };
    return (await command.run(ctx)) ?? EXIT.ok;
  } catch (err) {
    if (signal.aborted) return EXIT.interrupted;
    const f = failure(err);
    if (json && f.code !== EXIT.usage) io.stdout.write(JSON.stringify(f.json) + '\n');
    io.stderr.write(f.message + '\n');
    return f.code;
  } finally {
    await client?.close();
  }
}
