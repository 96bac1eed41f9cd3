// The broker process: config -> logger -> broker state machine -> Raft node -> REST API.
import './runtime-tuning.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { startApiServer } from './api/server.js';
import { Broker, encodeCommand, resolveLimits } from './broker/index.js';
import { ConfigError, exitCodeFor } from './node/errors.js';
import { RaftNode } from './node/raft-node.js';
import { Relocator } from './node/relocator.js';
import { startupConfig } from './node/startup.js';
import { startLatencyTrace } from './node/latency-trace.js';

async function main(): Promise<void> {
  const started = await startupConfig(process.argv.slice(2), process.env);
  if (started === undefined) return; // --help
  const { config, logger } = started;
  startLatencyTrace(process.env.MOM_LATENCY_TRACE, config.nodeId);
  const limits = brokerLimits(config.limits);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const broker = new Broker();
  const node = await RaftNode.start({
    config,
    stateMachine: broker,
    logger,
    registry,
    idleTickCommand: () => encodeCommand({ type: 'tick' }),
  });
  // The leader's limits are the cluster's: each new leader proposes its own, and every
  // replica enforces what the log says (src/broker/quotas.ts).
  node.on('roleChange', (role: string) => {
    if (role !== 'leader') return;
    node.propose(encodeCommand({ type: 'cluster.limits', limits })).catch((err: unknown) => {
      logger.warn({ event: 'limits_not_proposed', err: (err as Error).message }, 'limits not proposed (leadership lost?)');
    });
  });
  node.on('fatal', (err: Error) => {
    logger.fatal({ event: 'fatal', err: err.message }, 'node cannot continue');
    process.stderr.write(`mom: fatal: ${err.message}\n`);
    process.exit(exitCodeFor(err));
  });
  // Old live messages must not pin the log: the leader copies their bodies forward
  // (src/broker/README.md, Relocation).
  const relocator = new Relocator({
    node, stateMachine: broker, logger, afterEntries: config.relocateAfterEntries, checkMs: config.relocateCheckMs,
  });
  relocator.start();
  const api = await startApiServer({ config, node, broker, logger, registry });
  logger.info({ event: 'started', http: config.advertisedHttpUrl, grpc: config.grpcListen }, 'node started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down');
    relocator.stop();
    await node.handOffLeadership();
    await api.close();
    await node.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function brokerLimits(overrides: Record<string, number>) {
  try {
    return resolveLimits(overrides);
  } catch (err) {
    throw new ConfigError([`limits: ${(err as Error).message}`]);
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`mom: ${message}\n`);
  process.exit(exitCodeFor(err));
});
