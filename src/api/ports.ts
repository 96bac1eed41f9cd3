// What the API layer uses of the node and the broker (docs/contracts.md), as the
// narrow structural interfaces the routes depend on. RaftNode and Broker satisfy them.
import type { Logger } from 'pino';

export type { Logger };

export interface NodeStatusView {
  nodeId: string;
  role: string;
  term: number;
  leaderId: string | null;
  leaderUrl: string | null;
  commitIndex: number;
  appliedIndex: number;
  nodes: Array<{ id: string; httpUrl: string; role?: string; matchIndex?: number; lastContactMs?: number }>;
}

/** Who leads, as the leader gate needs it on every request (cheaper than status()). */
export interface LeadershipView {
  role: string;
  leaderId: string | null;
  leaderUrl: string | null;
}

export interface ApiNode {
  readonly id: string;
  leadership(): LeadershipView;
  propose(command: Uint8Array): Promise<unknown>;
  readBarrier(): Promise<void>;
  status(): NodeStatusView;
  isReady(): boolean;
  /** Relays a request to the leader; `signal` cancels it there too (the client left). */
  forward(payload: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  setForwardHandler(handler: (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>): void;
}

/** The NodeConfig fields the API reads (src/node/config.ts). */
export interface ApiConfig {
  nodeId: string;
  clusterId: string;
  /** host:port */
  httpListen: string;
  advertisedHttpUrl: string;
  jwtSecret: string;
  jwtTtlMs: number;
  leaderMode: 'redirect' | 'forward';
  /** CIDRs whose X-Forwarded-For is believed (default none). */
  trustedProxies?: readonly string[];
  /** Open HTTP connections at once (default 4096). */
  maxConnections?: number;
  /** Unlocks the per-queue series of /metrics; without it they are not served. */
  metricsToken?: string;
}
