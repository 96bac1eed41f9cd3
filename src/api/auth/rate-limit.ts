// Login throttling: failed attempts are counted per username and per client address in
// token buckets. An empty bucket answers 429 with Retry-After before any password check,
// so guessing costs the attacker time, not us CPU.
import { ApiError } from '../errors.js';

export interface BucketPolicy {
  /** Failures allowed in a burst. */
  capacity: number;
  /** One failure is forgiven every this many milliseconds. */
  refillEveryMs: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MAX_KEYS = 100_000;

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly policy: BucketPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private refill(key: string): Bucket {
    const nowMs = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.policy.capacity, updatedMs: nowMs };
    } else {
      const regained = Math.floor((nowMs - bucket.updatedMs) / this.policy.refillEveryMs);
      if (regained > 0) {
        bucket.tokens = Math.min(this.policy.capacity, bucket.tokens + regained);
        bucket.updatedMs = bucket.tokens === this.policy.capacity ? nowMs : bucket.updatedMs + regained * this.policy.refillEveryMs;
      }
    }
    return bucket;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedForMs(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens > 0) return 0;
    return Math.max(1, bucket.updatedMs + this.policy.refillEveryMs - this.now());
  }

  recordFailure(key: string): void {
    const bucket = this.refill(key);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    if (!this.buckets.has(key)) {
      if (this.buckets.size >= MAX_KEYS) this.evictFull();
      this.buckets.set(key, bucket);
    }
  }

  /** Keys whose bucket is full again carry no information. */
  private evictFull(): void {
    for (const key of this.buckets.keys()) {
      if (this.refill(key).tokens >= this.policy.capacity) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_KEYS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}

export interface LoginLimiterOptions {
  perUsername?: BucketPolicy;
  perAddress?: BucketPolicy;
  now?: () => number;
}

/**
 * Per username: 10 failures in a burst, then one per 6 s. Per address: 100, then five
 * a second — generous, because many users may share an address (NAT, a test runner).
 */
export class LoginLimiter {
  private readonly byUser: FailureLimiter;
  private readonly byAddress: FailureLimiter;

  constructor(opts: LoginLimiterOptions = {}) {
    this.byUser = new FailureLimiter(opts.perUsername ?? { capacity: 10, refillEveryMs: 6_000 }, opts.now);
    this.byAddress = new FailureLimiter(opts.perAddress ?? { capacity: 100, refillEveryMs: 200 }, opts.now);
  }

  /** Throws 429 rate_limited when this username or address has failed too often. */
  check(username: string, address: string): void {
    const waitMs = Math.max(this.byUser.blockedForMs(`u:${username}`), this.byAddress.blockedForMs(`a:${address}`));
    if (waitMs > 0) {
      throw new ApiError(
        'rate_limited',
        'too many failed login attempts; retry later',
        { retryAfterMs: waitMs },
        Math.ceil(waitMs / 1000),
      );
    }
  }

  recordFailure(username: string, address: string): void {
    this.byUser.recordFailure(`u:${username}`);
    this.byAddress.recordFailure(`a:${address}`);
  }
}
