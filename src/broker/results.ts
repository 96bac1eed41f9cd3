import type { CommandType } from './commands.js';
import type { BrokerErrorBody } from './errors.js';

/** What `apply` and the queries return; `value` is exactly docs/API.md's JSON body for the
 *  route (null for 204 answers). An answer replayed for an Idempotency-Key carries
 *  `replayOf`, the type of the command that first gave it: a key reused by another
 *  kind of request gets that first answer, status included (docs/API.md, Idempotency). */
export type CommandResult<T = unknown> =
  | { ok: true; value: T; replayOf?: CommandType }
  | { ok: false; error: BrokerErrorBody; replayOf?: CommandType };

export interface QueueStats {
  ready: number;
  inflight: number;
  delayed: number;
}

/** docs/API.md `Queue`. */
export interface QueueView {
  name: string;
  owner: string;
  createdAt: string;
  visibilityTimeoutMs: number;
  maxReceives: number | null;
  deadLetterQueue: string | null;
  retentionMs: number;
  stats: QueueStats;
}

/** docs/API.md `Topic` (the page leaves its fields open; these mirror the create body). */
export interface TopicView {
  name: string;
  owner: string;
  createdAt: string;
  public: boolean;
  retentionMs: number;
  stats: { subscriptions: number; retained: number };
}

/** docs/API.md `Subscription`. */
export interface SubscriptionView {
  name: string;
  topic: string;
  owner: string;
  createdAt: string;
  ackTimeoutMs: number;
  maxDeliveries: number | null;
  deadLetterQueue: string | null;
  stats: QueueStats;
}

/** docs/API.md `Received`. */
export interface ReceivedView {
  id: string;
  body: string;
  attributes: Record<string, string>;
  receiptHandle: string;
  receiveCount: number;
  sentAt: string;
}

export interface SentView {
  id: string;
  deduplicated: boolean;
}

export interface UserRecord {
  username: string;
  passwordHash: string;
}

/** `queueDepths()` for metrics: one row per queue and per subscription. */
export interface DepthRow {
  kind: 'queue' | 'subscription';
  /** `queue:<name>` or `sub:<topic>/<subscription>`, as in onMessagesReady. */
  target: string;
  ready: number;
  inflight: number;
  delayed: number;
}
