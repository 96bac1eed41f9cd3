// Command-line parsing on node:util parseArgs: global options go anywhere, each command
// adds its own, and numbers are checked here so commands receive clean values.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  'retry-for': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} satisfies OptionSpec;

export const GLOBAL_HELP = `Global options:
  --url URLS       node URL(s), comma-separated (env MOM_URL; default: the login's, else http://127.0.0.1:8001)
  --token TOKEN    bearer token (env MOM_TOKEN; default: the one saved by mom login)
  --json           machine-readable output (JSON; NDJSON for message streams)
  --timeout MS     per-attempt request timeout (default 10000)
  --retry-for MS   how long to keep retrying through failovers and lost answers (default 30000)
  -h, --help       help for mom or for a command`;

export function parse(argv: string[], options: OptionSpec): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err));
  }
}

/** An integer option within bounds, or undefined when absent. */
export function intOption(values: Values, name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
