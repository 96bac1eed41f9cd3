// The first steps of every node process (the broker's src/main.ts, the key-value node of
// the benchmarks): --help, the configuration, its listen addresses, the logger.
import type { Logger } from 'pino';
import { CONFIG_USAGE, checkListenAddresses, loadConfig, type NodeConfig } from './config.js';
import { createLogger } from './logger.js';

/** The configuration and logger a node starts with, or undefined after printing --help.
 *  Throws ConfigError or ListenError (exitCodeFor gives their exit codes). */
export async function startupConfig(argv: string[], env: NodeJS.ProcessEnv): Promise<{ config: NodeConfig; logger: Logger } | undefined> {
  if (argv.includes('--help')) {
    process.stdout.write(CONFIG_USAGE + '\n');
    return undefined;
  }
  const config = loadConfig(argv, env);
  await checkListenAddresses(config);
  return { config, logger: createLogger(config.nodeId, config.logLevel) };
}
