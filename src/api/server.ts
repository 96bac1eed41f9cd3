// startApiServer: the HTTP server of one node (docs/contracts.md).
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { buildApp } from './app.js';
import { LoginLimiter, type LoginLimiterOptions } from './auth/rate-limit.js';
import { TokenService } from './auth/tokens.js';
import type { ApiBroker, ApiDeps } from './deps.js';
import { ForwardReplayer } from './forward/handler.js';
import { LeaderGate } from './leader.js';
import { ReadyWaiters } from './long-poll.js';
import { ApiMetrics } from './metrics.js';
import type { ApiConfig, ApiNode, Logger } from './ports.js';
import { apiRoutes } from './routes/index.js';

export interface ApiServerOptions {
  config: ApiConfig;
  node: ApiNode;
  broker: ApiBroker;
  logger: Logger;
  registry: Registry;
  /** Tests tune login throttling; production uses the defaults. */
  loginLimits?: LoginLimiterOptions;
}

export interface ApiServer {
  close(): Promise<void>;
  port: number;
}

/** How long close() lets in-flight requests finish before cutting connections. */
const CLOSE_GRACE_MS = 5_000;

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`bad listen address ${listen}; expected host:port`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port: Number(match[3]) };
}

async function jwtSecretOf(config: ApiConfig): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.jwtSecretFile) return (await readFile(config.jwtSecretFile, 'utf8')).trim();
  throw new Error('no JWT secret configured (jwtSecret or jwtSecretFile)');
}

/** The address to reach our own server on, for replaying forwarded requests. */
function loopbackOrigin(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { config, node, broker, logger, registry } = opts;
  const waiters = new ReadyWaiters((target) => broker.readyCount(target));
  const stopListening = broker.onMessagesReady(waiters.notify);
  const deps: ApiDeps = {
    node,
    broker,
    tokens: new TokenService({ secret: await jwtSecretOf(config), clusterId: config.clusterId, ttlMs: config.jwtTtlMs }),
    logins: new LoginLimiter(opts.loginLimits),
    waiters,
    metrics: new ApiMetrics(registry, () => broker.queueDepths()),
    logger,
  };
  const replayer = new ForwardReplayer();
  const routes = apiRoutes(deps, registry);
  const app = buildApp({
    deps,
    gate: new LeaderGate({ node, mode: config.leaderMode }),
    routes,
    isForwarded: (secret) => replayer.isForwarded(secret),
  });

  const server = createServer({ keepAlive: true }, app.callback());
  // Long polls hold a request up to 20 s; idle keep-alive connections live a minute.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 120_000;
  const { host, port } = parseListen(config.httpListen);
  const address = await listen(server, host, port);
  replayer.attach(loopbackOrigin(address));
  node.setForwardHandler(replayer.handle);
  logger.info({ event: 'http_listening', port: address.port, leaderMode: config.leaderMode }, 'REST API listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopListening();
      waiters.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Busy keep-alive connections would otherwise carry new requests for the whole
      // grace period: close each one as soon as its response is out.
      server.closeIdleConnections();
      const drain = setInterval(() => server.closeIdleConnections(), 20);
      const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearInterval(drain);
      clearTimeout(grace);
      await replayer.close();
    })();
    return closing;
  };
  return { close, port: address.port };
}
