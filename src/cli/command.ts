// The shape of one CLI command and what it runs with.
import type { MomClient } from '../client/index.js';
import type { OptionSpec, Values } from './args.js';
import type { SavedConfig } from './config.js';
import type { Output } from './output.js';

export interface Context {
  out: Output;
  env: NodeJS.ProcessEnv;
  values: Values;
  /** Positionals after the command words. */
  args: string[];
  /** Aborts on Ctrl-C. */
  signal: AbortSignal;
  urls: string[];
  config: SavedConfig;
  /** The client, with the token (commands that need a login). */
  client(): MomClient;
}

export interface Command {
  /** e.g. ['queue', 'create']. */
  words: string[];
  /** The arguments part of the usage line, e.g. 'NAME [options]'. */
  usage: string;
  summary: string;
  /** Option lines and notes for `mom CMD --help`. */
  help?: string;
  options?: OptionSpec;
  /** Positional arguments: at least, at most. */
  args: [number, number];
  /** False for commands that work without a login. */
  auth?: boolean;
  /** Exit code (default 0). */
  run(ctx: Context): Promise<number | void>;
}
