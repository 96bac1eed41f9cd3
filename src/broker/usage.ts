/** What one user holds, counted against the quotas (quotas.ts). Not snapshotted:
 *  restore recounts it from the state it rebuilt (BrokerState.recountUsage). */
export class UserUsage {
  queues = 0;
  topics = 0;
  subscriptions = 0;
  /** Grants given on the queues and topics this user owns. */
  grants = 0;
  /** Bytes of the messages stored in the queues this user owns. */
  queuedBytes = 0;
}

const NOTHING: Readonly<UserUsage> = Object.freeze(new UserUsage());

/** username -> usage; a user appears once it owns something. */
export class UsageBook {
  private readonly users = new Map<string, UserUsage>();

  of(user: string): UserUsage {
    let u = this.users.get(user);
    if (u === undefined) {
      u = new UserUsage();
      this.users.set(user, u);
    }
    return u;
  }

  /** The counts of `user` (zero for a user who holds nothing), without adding it. */
  peek(user: string): Readonly<UserUsage> {
    return this.users.get(user) ?? NOTHING;
  }

  /** Sets every count to zero, keeping the objects (queues hold their owner's). */
  zero(): void {
    for (const u of this.users.values()) {
      u.queues = 0;
      u.topics = 0;
      u.subscriptions = 0;
      u.grants = 0;
      u.queuedBytes = 0;
    }
  }
}
