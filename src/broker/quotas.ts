import { z } from 'zod';
import { BrokerError } from './errors.js';

/**
 * Per-user limits (docs/SECURITY.md, Per-user limits). They are replicated state: the leader
 * proposes its configured values as a `cluster.limits` command, so every replica
 * enforces the same numbers whatever its own flags say; until the first such command is
 * applied, the defaults below (identical in every build) hold.
 */
export interface BrokerLimits {
  /** Queues one user may own. */
  queuesPerUser: number;
  /** Topics one user may own. */
  topicsPerUser: number;
  /** Subscriptions one user may own, over all topics. */
  subscriptionsPerUser: number;
  /** Grants (one user's permissions on one queue or topic) an owner may give, in all. */
  grantsPerUser: number;
  /** Messages stored in one queue: ready, in flight and delayed. */
  messagesPerQueue: number;
  /** Bytes (body plus attribute names and values, UTF-8) stored in one queue. */
  queuedBytesPerQueue: number;
  /** Bytes stored in all the queues one user owns. */
  queuedBytesPerUser: number;
  /** Idempotency records kept per user; the oldest are evicted beyond it. */
  idempotencyRecordsPerUser: number;
  /** Bytes of idempotency records kept per user (as counted by the cache). */
  idempotencyBytesPerUser: number;
  /** Stream producers (their sequence windows) kept per user; a new one past it is refused. */
  producersPerUser: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  queuesPerUser: 1_000,
  topicsPerUser: 1_000,
  subscriptionsPerUser: 1_000,
  grantsPerUser: 10_000,
  // A backlog of millions is what a broker is for (consumers down for a day): these stop
  // one tenant from filling a node's disk, not ordinary backlogs. Lower them with --limits.
  messagesPerQueue: 10_000_000,
  queuedBytesPerQueue: 16 * 1024 * MiB,
  queuedBytesPerUser: 64 * 1024 * MiB,
  idempotencyRecordsPerUser: 10_000,
  idempotencyBytesPerUser: 16 * MiB,
  // A producer with a full window costs ~20 KB (README, Producers): ~20 MB per user at most.
  producersPerUser: 1_000,
});

export type LimitName = keyof BrokerLimits;

const limit = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A complete set of limits (what `cluster.limits` carries and snapshots keep). */
export const limitsSchema = z.strictObject({
  queuesPerUser: limit,
  topicsPerUser: limit,
  subscriptionsPerUser: limit,
  grantsPerUser: limit,
  messagesPerQueue: limit,
  queuedBytesPerQueue: limit,
  queuedBytesPerUser: limit,
  idempotencyRecordsPerUser: limit,
  idempotencyBytesPerUser: limit,
  // Added later: limits written by earlier versions (log entries, snapshots) lack it.
  producersPerUser: limit.default(DEFAULT_LIMITS.producersPerUser),
}) satisfies z.ZodType<BrokerLimits>;

/** Defaults overridden by `overrides` (a node's flags); throws on an unknown name or a
 *  value that is not a positive integer. */
export function resolveLimits(overrides: Readonly<Record<string, number>> = {}): BrokerLimits {
  const parsed = limitsSchema.safeParse({ ...DEFAULT_LIMITS, ...overrides });
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'limits'}: ${i.message}`).join('; ');
    throw new BrokerError('validation_failed', `invalid limits: ${what}`);
  }
  return parsed.data;
}

/** Refuses a command that would take `current + adding` past `name`'s value. */
export function checkLimit(limits: BrokerLimits, name: LimitName, current: number, adding: number, what: string): void {
  const max = limits[name];
  if (current + adding > max) {
    throw new BrokerError('quota_exceeded', `quota exceeded: ${what} (limit ${name} = ${max})`, {
      limit: name, max, current, requested: adding,
    });
  }
}
