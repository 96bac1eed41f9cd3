interface Stamped<V> {
  value: V;
  at: number;
}

/**
 * A key -> value map whose entries live `windowMs` of replicated time from when they
 * were first set (dedup and idempotency windows). Time only moves forward, so a Map's
 * insertion order is also expiry order: expiring looks at the oldest entries only.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, Stamped<V>>();

  constructor(readonly windowMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value if `key` was set less than windowMs before `now`. */
  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    return e !== undefined && now - e.at < this.windowMs ? e.value : undefined;
  }

  set(key: string, value: V, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: now });
  }

  /** First use of `key` in its window wins: returns the value already held for it,
   *  or, if there is none, stores `value` and returns undefined. */
  claim(key: string, value: V, now: number): V | undefined {
    const first = this.get(key, now);
    if (first === undefined) this.set(key, value, now);
    return first;
  }

  /** Drops entries whose window has passed. */
  expire(now: number): void {
    for (const [key, e] of this.entries) {
      if (now - e.at < this.windowMs) break;
      this.entries.delete(key);
    }
  }

  /** Oldest first, for snapshots. */
  *stamped(): IterableIterator<[string, V, number]> {
    for (const [key, e] of this.entries) yield [key, e.value, e.at];
  }

  /** Restores an entry (in the order `stamped()` produced them). */
  load(key: string, value: V, at: number): void {
    this.entries.set(key, { value, at });
  }
}
