// Where a request that needs the leader is served. On the leader: here. On a follower:
// a 307 to the leader's advertised URL (redirect mode) or the request itself relayed to
// the leader over the Forward RPC (forward mode). No known leader: 503 no_leader.
import { ApiError, NO_LEADER_RETRY_AFTER_SEC, fromNodeError } from './errors.js';
import { decodeForwardedResponse, encodeForwardedRequest } from './forward/codec.js';
import { NotLeaderError } from '../node/errors.js';
import type { ApiNode } from './ports.js';
import type { Answer } from './route.js';

export type LeaderMode = 'redirect' | 'forward';

/** Set by the leader's forward handler on the loopback request it makes for a follower;
 *  the value is a per-process secret so that clients cannot pose as a forward. */
export const FORWARD_SECRET_HEADER = 'x-mom-forward-secret';
/** The original client's address on a forwarded request. */
export const FORWARD_CLIENT_HEADER = 'x-mom-forwarded-for';

/** Headers that describe one connection, not the request. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
  'expect',
  FORWARD_SECRET_HEADER,
  FORWARD_CLIENT_HEADER,
]);

export interface LeaderBoundRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  clientAddress: string;
  rawBody: Uint8Array;
  /** This node is the leader answering for a follower: never redirect or forward again. */
  forwarded: boolean;
  /** Aborts when the client hangs up; a relayed request is then cancelled on the leader. */
  clientGone?: () => AbortSignal;
  /** In forward mode, the body to relay instead of `rawBody` (RouteSpec.relay). */
  relayBody?: () => Promise<Uint8Array>;
}

export interface LeaderGateOptions {
  node: ApiNode;
  mode: LeaderMode;
  /** Long polls wait up to 20 s on the leader; the relay must outlast them. */
  forwardTimeoutMs?: number;
}

const isNotLeader = (err: unknown): err is NotLeaderError => err instanceof NotLeaderError;

const noLeader = (): ApiError =>
  new ApiError('no_leader', 'no leader is known right now; retry shortly', undefined, NO_LEADER_RETRY_AFTER_SEC);

export class LeaderGate {
  private readonly forwardTimeoutMs: number;

  constructor(private readonly opts: LeaderGateOptions) {
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? 35_000;
  }

  get mode(): LeaderMode {
    return this.opts.mode;
  }

  async run(req: LeaderBoundRequest, serve: () => Promise<Answer>): Promise<Answer> {
    if (req.forwarded) {
      try {
        return await serve();
      } catch (err) {
        // Leadership moved while the follower's request was on its way: the follower's
        // client retries (a second relay could loop).
        if (isNotLeader(err)) throw noLeader();
        throw err;
      }
    }
    const leadership = this.opts.node.leadership();
    if (leadership.role !== 'leader') return this.elsewhere(req, leadership.leaderId, leadership.leaderUrl);
    try {
      return await serve();
    } catch (err) {
      // NotLeader means nothing was proposed: safe to send the client to the leader.
      if (isNotLeader(err)) return this.elsewhere(req, err.leaderId, err.leaderHttpUrl);
      throw err;
    }
  }

  private leaderUrl(leaderId: string | null, leaderUrl: string | null): { id: string; url: string } | undefined {
    if (!leaderId || leaderId === this.opts.node.id) return undefined;
    const url = leaderUrl ?? this.opts.node.status().nodes.find((n) => n.id === leaderId)?.httpUrl;
    return url ? { id: leaderId, url: url.replace(/\/+$/, '') } : undefined;
  }

  private async elsewhere(req: LeaderBoundRequest, leaderId: string | null, leaderUrl: string | null): Promise<Answer> {
    const leader = this.leaderUrl(leaderId, leaderUrl);
    if (!leader) throw noLeader();
    if (this.opts.mode === 'redirect') {
      const location = leader.url + req.url;
      return {
        status: 307,
        headers: { location, 'x-mom-leader': leader.id },
        body: { leader: { id: leader.id, url: leader.url }, location },
      };
    }
    return this.forward(req, leader.id);
  }

  private async forward(req: LeaderBoundRequest, leaderId: string): Promise<Answer> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const payload = encodeForwardedRequest({
      method: req.method,
      url: req.url,
      headers,
      clientAddress: req.clientAddress,
      body: req.relayBody ? await req.relayBody() : req.rawBody,
    });
    let answer: Uint8Array;
    try {
      answer = await this.opts.node.forward(payload, this.forwardTimeoutMs, req.clientGone?.());
    } catch (err) {
      // ForwardError (the relay broke after the request may have reached the leader)
      // maps to 503 with an unknown outcome.
      const mapped = err instanceof Error ? fromNodeError(err) : undefined;
      throw mapped ?? err;
    }
    const res = decodeForwardedResponse(answer);
    return {
      status: res.status,
      headers: { ...res.headers, 'x-mom-leader': leaderId },
      raw: { contentType: res.headers['content-type'] ?? 'application/json; charset=utf-8', bytes: res.body },
    };
  }
}
