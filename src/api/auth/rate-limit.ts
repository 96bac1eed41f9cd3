// Throttling of the unauthenticated routes, in token buckets keyed by the client's real
// address (client-address.ts) — docs/SECURITY.md lists every limit. An empty bucket
// answers 429 with Retry-After before any password check or hash, so guessing costs the
// attacker time, not us CPU.
//
// Login failures count per (username, address), per address and per username. Only the
// first locks a name for one client: a stranger failing against someone's name blocks
// the stranger, not the owner. The per-username bucket is a ceiling against guessing
// spread over many addresses; addresses that logged in to that name before are exempt
// from it, so even a distributed attack does not lock the owner out of their usual place.
import { ApiError } from '../errors.js';

export interface BucketPolicy {
  /** Events allowed in a burst. */
  capacity: number;
  /** One event is forgiven every this many milliseconds. */
  refillEveryMs: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Keys one table keeps at most; beyond, the least recently charged key is forgotten. */
export const DEFAULT_MAX_KEYS = 100_000;

/** Token buckets per key, in bounded memory. */
export class BucketTable {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly policy: BucketPolicy,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string): Bucket {
    const nowMs = this.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.policy.capacity, updatedMs: nowMs };
    const regained = Math.floor((nowMs - bucket.updatedMs) / this.policy.refillEveryMs);
    if (regained > 0) {
      bucket.tokens = Math.min(this.policy.capacity, bucket.tokens + regained);
      bucket.updatedMs = bucket.tokens === this.policy.capacity ? nowMs : bucket.updatedMs + regained * this.policy.refillEveryMs;
    }
    return bucket;
  }

  /** Milliseconds until `key` may act again; 0 when it may now. */
  blockedForMs(key: string): number {
    const bucket = this.refilled(key);
    if (bucket.tokens > 0) return 0;
    return Math.max(1, bucket.updatedMs + this.policy.refillEveryMs - this.now());
  }

  /** Takes one token (down to zero). */
  charge(key: string): void {
    const bucket = this.refilled(key);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted at the end: Map order is then least recently charged first, and the
    // eviction below is O(1) (a scan for full buckets would let many new addresses cost
    // us a pass over the whole table each).
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    this.buckets.set(key, bucket);
  }
}

function rateLimited(message: string, waitMs: number): ApiError {
  return new ApiError('rate_limited', message, { retryAfterMs: waitMs }, Math.ceil(waitMs / 1000));
}

export interface LoginLimiterOptions {
  /** Failures of one username from one address. */
  perUsernameAndAddress?: BucketPolicy;
  /** Failures from one address, whatever the usernames. */
  perAddress?: BucketPolicy;
  /** Failures against one username from anywhere (except its known addresses). */
  perUsername?: BucketPolicy;
  maxKeys?: number;
  now?: () => number;
}

export const LOGIN_LIMITS = {
  perUsernameAndAddress: { capacity: 10, refillEveryMs: 6_000 },
  // Generous: many users may share an address (NAT, an office, a test runner).
  perAddress: { capacity: 100, refillEveryMs: 200 },
  perUsername: { capacity: 100, refillEveryMs: 2_000 },
} as const satisfies Record<string, BucketPolicy>;

/** Addresses a user logged in from, remembered per user (bounded both ways). */
const KNOWN_ADDRESSES_PER_USER = 8;

export class LoginLimiter {
  private readonly byPair: BucketTable;
  private readonly byAddress: BucketTable;
  private readonly byUser: BucketTable;
  private readonly known = new Map<string, string[]>();
  private readonly maxKeys: number;

  constructor(opts: LoginLimiterOptions = {}) {
    this.maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    this.byPair = new BucketTable(opts.perUsernameAndAddress ?? LOGIN_LIMITS.perUsernameAndAddress, opts.now, this.maxKeys);
    this.byAddress = new BucketTable(opts.perAddress ?? LOGIN_LIMITS.perAddress, opts.now, this.maxKeys);
    this.byUser = new BucketTable(opts.perUsername ?? LOGIN_LIMITS.perUsername, opts.now, this.maxKeys);
  }

  private isKnown(username: string, address: string): boolean {
    return this.known.get(username)?.includes(address) ?? false;
  }

  /** Throws 429 rate_limited when this client may not try this username now. */
  check(username: string, address: string): void {
    const waitMs = Math.max(
      this.byPair.blockedForMs(pairKey(username, address)),
      this.byAddress.blockedForMs(address),
      this.isKnown(username, address) ? 0 : this.byUser.blockedForMs(username),
    );
    if (waitMs > 0) throw rateLimited('too many failed login attempts; retry later', waitMs);
  }

  recordFailure(username: string, address: string): void {
    this.byPair.charge(pairKey(username, address));
    this.byAddress.charge(address);
    this.byUser.charge(username);
  }

  recordSuccess(username: string, address: string): void {
    const list = this.known.get(username) ?? [];
    this.known.delete(username);
    if (!list.includes(address)) {
      list.push(address);
      if (list.length > KNOWN_ADDRESSES_PER_USER) list.shift();
    }
    if (this.known.size >= this.maxKeys) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    this.known.set(username, list);
  }

  /** Keys held, for the memory-bound test. */
  get sizes(): { pairs: number; addresses: number; users: number; known: number } {
    return { pairs: this.byPair.size, addresses: this.byAddress.size, users: this.byUser.size, known: this.known.size };
  }
}

/** A username may hold any character; the address never holds a newline. */
const pairKey = (username: string, address: string): string => `${address}\n${username}`;

/** Generous on purpose: a test suite or a provisioning script registers many users from
 *  one address, while a flood still stops after a few hundred password hashes. */
export const REGISTER_LIMITS = { perAddress: { capacity: 300, refillEveryMs: 200 } } as const satisfies Record<string, BucketPolicy>;

/** Registrations per client address: every attempt counts (each costs a password hash
 *  and, when it succeeds, a user in the replicated state). */
export class RegisterLimiter {
  private readonly byAddress: BucketTable;

  constructor(opts: { perAddress?: BucketPolicy; maxKeys?: number; now?: () => number } = {}) {
    this.byAddress = new BucketTable(opts.perAddress ?? REGISTER_LIMITS.perAddress, opts.now, opts.maxKeys);
  }

  /** Counts one attempt, or throws 429 rate_limited when the address has used its share. */
  take(address: string): void {
    const waitMs = this.byAddress.blockedForMs(address);
    if (waitMs > 0) throw rateLimited('too many registrations from this address; retry later', waitMs);
    this.byAddress.charge(address);
  }
}
