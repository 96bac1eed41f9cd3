// What the API layer uses of the node and the broker (docs/contracts.md), as the
// narrow structural interfaces the routes depend on. RaftNode and Broker satisfy them.
import type { Logger } from 'pino';
import type { NodeStatus } from '../node/raft-node.js';

export type { Logger };

/** GET /v1/cluster: the node's own status type, declared once (docs/API.md, Health and cluster). */
export type NodeStatusView = NodeStatus;

/** Who leads, as the leader gate needs it on every request (cheaper than status()). */
export interface LeadershipView {
  role: string;
  leaderId: string | null;
  leaderUrl: string | null;
}

export interface ApiNode {
  readonly id: string;
  leadership(): LeadershipView;
  /** The command starts `headroom` bytes into `command`; the node may write there. */
  propose(command: Uint8Array, headroom?: number): Promise<unknown>;
  readBarrier(): Promise<void>;
  /** Why new messages must be refused right now (this node's disk is nearly full), if so. */
  storageRefusal(): Error | undefined;
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
  /** Read from its file, if configured so, by the config loader. */
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
