// startApiServer: the HTTP server of one node (docs/contracts.md).
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { buildApp } from './app.js';
import { LoginLimiter, RegisterLimiter, type BucketPolicy, type LoginLimiterOptions } from './auth/rate-limit.js';
import { TokenService } from './auth/tokens.js';
import { ClientAddressResolver } from './client-address.js';
import type { ApiBroker, ApiDeps } from './deps.js';
import { forwardHandler } from './forward/handler.js';
import { LeaderGate } from './leader.js';
import { ReadyWaiters } from './long-poll.js';
import { ApiMetrics } from './metrics.js';
import { parseHostPort } from '../node/address.js';
import { mark, tracingLatency } from '../node/latency-trace.js';
import type { ApiConfig, ApiNode, Logger } from './ports.js';
import { apiRoutes } from './routes/index.js';
import { attachStream, type StreamSettings } from './stream/server.js';

export interface ApiServerOptions {
  config: ApiConfig;
  node: ApiNode;
  broker: ApiBroker;
  logger: Logger;
  registry: Registry;
  /** Tests tune the throttles; production uses the defaults (docs/SECURITY.md). */
  loginLimits?: LoginLimiterOptions;
  registerLimits?: { perAddress?: BucketPolicy };
  /** Tests shorten the deadlines. */
  headersTimeoutMs?: number;
  answerMarginMs?: number;
  /** Tests tune the stream's limits and timers (docs/STREAM.md); production uses the defaults. */
  stream?: Partial<StreamSettings>;
}

export interface ApiServer {
  close(): Promise<void>;
  port: number;
}

/** How long close() lets in-flight requests finish before cutting connections. */
const CLOSE_GRACE_MS = 5_000;
/** A client has this long to send its request headers (slow-header attacks). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** ... and this long to send its whole request, body included. */
export const REQUEST_RECEIVE_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS = 4096;
/** An answer may take a long poll's waitMs plus this: above the 35 s a follower waits for
 *  a relayed request, so the deadline never cuts an answer still on its way. */
export const ANSWER_MARGIN_MS = 40_000;

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
  const metrics = new ApiMetrics(registry, () => broker.queueDepths());
  const deps: ApiDeps = {
    node,
    broker,
    tokens: new TokenService({ secret: config.jwtSecret, clusterId: config.clusterId, ttlMs: config.jwtTtlMs }),
    logins: new LoginLimiter(opts.loginLimits),
    registrations: new RegisterLimiter(opts.registerLimits),
    waiters,
    metrics,
    logger,
  };
  const clientAddresses = new ClientAddressResolver(config.trustedProxies ?? []);
  const routes = apiRoutes(deps, { registry, perQueue: metrics.perQueue, token: config.metricsToken });
  const gate = new LeaderGate({ node, mode: config.leaderMode });
  const app = buildApp({
    deps,
    gate,
    routes,
    clientAddress: (peer, forwardedFor) => clientAddresses.resolve(peer, forwardedFor),
    answerMarginMs: opts.answerMarginMs ?? ANSWER_MARGIN_MS,
  });

  const headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  // Node checks the header and request deadlines on this interval (30 s by default,
  // which would let a slow client hold a connection three times longer than meant).
  const handler = app.koa().callback();
  const server = createServer({ keepAlive: true, connectionsCheckingInterval: Math.min(1_000, headersTimeout) }, tracingLatency() ? tracedHandler(handler) : handler);
  // Idle keep-alive connections live a minute. Receiving a request has its own deadlines
  // (Node answers 408 past them); answering one is bounded by the route (a long poll
  // by its waitMs, see receive.ts). Beyond maxConnections, new sockets are closed at once.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = headersTimeout;
  server.requestTimeout = Math.max(server.headersTimeout, REQUEST_RECEIVE_TIMEOUT_MS);
  server.maxConnections = config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  // GET /v1/stream upgrades to a WebSocket on the same port.
  const stream = attachStream(server, {
    deps,
    routes,
    gate,
    settings: opts.stream,
    clientAddress: (peer, forwardedFor) => clientAddresses.resolve(peer, forwardedFor),
  });
  const { host, port } = parseHostPort(config.httpListen);
  const address = await listen(server, host || '0.0.0.0', port);
  node.setForwardHandler(forwardHandler(app));
  logger.info({ event: 'http_listening', port: address.port, leaderMode: config.leaderMode }, 'REST API listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopListening();
      stream.close();
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
    })();
    return closing;
  };
  return { close, port: address.port };
}

/** The request handler with the trace's first and last points of an HTTP request. */
function tracedHandler(handler: RequestListener): RequestListener {
  return (req, res) => {
    mark('http.in');
    res.once('finish', () => mark('http.out'));
    return handler(req, res);
  };
}
