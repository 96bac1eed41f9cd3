// GET /v1/stream on the node's HTTP port: the upgrade is answered here, before any
// WebSocket exists, with REST's answers where it cannot go on (404 for another path,
// 401 for a refused Authorization header; in redirect mode a follower's 307 to the
// leader or 503 without one); then every connection is a StreamConnection.
// Redirect mode: streams belong to the leader, and when this node stops leading every
// stream closes with leaderChanged. Forward mode: any node keeps its streams and relays
// each request to the leader over the Forward RPC, as it relays REST requests
// (docs/STREAM.md).
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { bearerToken } from '../auth/tokens.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, NO_LEADER_RETRY_AFTER_SEC, errorBody, toApiError } from '../errors.js';
import type { LeaderGate } from '../leader.js';
import type { RouteSpec } from '../route.js';
import { StreamConnection, type Claims, type StreamSettings } from './connection.js';
import { RouteTable } from './operations.js';
import { CLOSE, STREAM_LIMITS, STREAM_PATH } from './protocol.js';

export type { StreamSettings };

export interface StreamServerOptions {
  deps: ApiDeps;
  routes: readonly RouteSpec[];
  /** The app's leader gate: its mode decides what a follower does with a stream. */
  gate: LeaderGate;
  /** The client's address from the peer and X-Forwarded-For, as the app resolves it. */
  clientAddress: (peer: string | undefined, forwardedFor: string | string[] | undefined) => string;
  settings?: Partial<StreamSettings>;
}

export interface StreamServer {
  readonly connections: number;
  /** Closes every stream with goingAway. */
  close(): void;
}

/** How often a node checks that it still leads while streams are open. A lost
 *  leadership is usually seen sooner, by a proposal that fails. */
const LEADERSHIP_CHECK_MS = 100;

export function defaultStreamSettings(overrides: Partial<StreamSettings> = {}): StreamSettings {
  return {
    maxUnconfirmed: STREAM_LIMITS.maxUnconfirmed,
    maxBufferedBytes: STREAM_LIMITS.maxBufferedBytes,
    maxConsumers: STREAM_LIMITS.maxConsumers,
    maxPrefetch: STREAM_LIMITS.maxPrefetch,
    authTimeoutMs: STREAM_LIMITS.authTimeoutMs,
    authGraceMs: STREAM_LIMITS.authGraceMs,
    ...overrides,
  };
}

/** An HTTP answer on a socket that asked to upgrade. */
function refuse(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}

function refuseWith(socket: Duplex, err: ApiError): void {
  refuse(socket, err.status, errorBody(err), err.retryAfterSec !== undefined ? { 'Retry-After': String(err.retryAfterSec) } : {});
}

export function attachStream(server: Server, opts: StreamServerOptions): StreamServer {
  const { deps } = opts;
  const settings = defaultStreamSettings(opts.settings);
  const routes = new RouteTable(opts.routes, opts.gate);
  const relaying = opts.gate.mode === 'forward';
  const wss = new WebSocketServer({ noServer: true, maxPayload: STREAM_LIMITS.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  const open = new Set<StreamConnection>();
  let watch: NodeJS.Timeout | undefined;
  let closing = false;

  const onClosed = (conn: StreamConnection): void => {
    open.delete(conn);
    if (open.size === 0 && watch) {
      clearInterval(watch);
      watch = undefined;
    }
  };

  // A leader change closes every stream (leaderChanged) and the clients resend what was
  // unconfirmed. Redirect mode: when this node stops leading. Forward mode: when the
  // leader this node relays to changes (a relay to a dead leader would otherwise hang
  // until its timeout).
  const watchLeadership = (): void => {
    watch ??= setInterval(() => {
      const leadership = deps.node.leadership();
      for (const conn of [...open]) {
        const moved = relaying ? leadership.leaderId !== conn.leaderAtAccept : leadership.role !== 'leader';
        if (moved) conn.leaderLost();
      }
    }, LEADERSHIP_CHECK_MS);
  };

  const leaderElsewhere = (req: IncomingMessage, socket: Duplex): boolean => {
    const leadership = deps.node.leadership();
    if (leadership.role === 'leader') return false;
    if (relaying && leadership.leaderId) return false;
    const url = !relaying && leadership.leaderId && leadership.leaderId !== deps.node.id
      ? (leadership.leaderUrl ?? deps.node.status().nodes.find((n) => n.id === leadership.leaderId)?.httpUrl)
      : undefined;
    if (!url) {
      refuseWith(socket, new ApiError('no_leader', 'no leader is known right now; retry shortly', undefined, NO_LEADER_RETRY_AFTER_SEC));
      return true;
    }
    const base = url.replace(/\/+$/, '');
    const location = base + (req.url ?? STREAM_PATH);
    refuse(socket, 307, { leader: { id: leadership.leaderId, url: base }, location }, { Location: location, 'x-mom-leader': String(leadership.leaderId) });
    return true;
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== STREAM_PATH) {
        refuseWith(socket, new ApiError('not_found', `no route for GET ${path}`));
        return;
      }
      if (closing) {
        refuseWith(socket, new ApiError('no_leader', 'this node is shutting down; retry on another node', undefined, NO_LEADER_RETRY_AFTER_SEC));
        return;
      }
      if (leaderElsewhere(req, socket)) return;
      let claims: Claims | undefined;
      const header = req.headers.authorization;
      if (header !== undefined) {
        try {
          const token = bearerToken(header);
          claims = { ...(await deps.tokens.verifyClaims(token)), token };
        } catch (err) {
          refuseWith(socket, toApiError(err));
          return;
        }
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new StreamConnection(ws, socket as Socket, { deps, routes, settings, relaying }, opts.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']), claims, onClosed);
        if (conn.isClosed) return;
        open.add(conn);
        watchLeadership();
      });
    })().catch((err: unknown) => {
      deps.logger.error({ err }, 'stream upgrade failed');
      socket.destroy();
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    get connections() {
      return open.size;
    },
    close() {
      closing = true;
      server.off('upgrade', onUpgrade);
      for (const conn of [...open]) conn.close(CLOSE.goingAway, 'server shutting down');
      if (watch) clearInterval(watch);
      watch = undefined;
    },
  };
}
