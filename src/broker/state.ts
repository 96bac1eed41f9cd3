import { IdempotencyCache } from './idempotency.js';
import { ProducerTable } from './producers.js';
import { DEFAULT_LIMITS, type BrokerLimits } from './quotas.js';
import type { Queue } from './queue.js';
import { Runtime } from './runtime.js';
import type { Topic } from './topic.js';
import { UsageBook } from './usage.js';

/** Everything the log builds; what a snapshot holds. */
export class BrokerState {
  readonly rt = new Runtime();
  /** username -> salted slow hash (computed before proposing). */
  readonly users = new Map<string, string>();
  readonly queues = new Map<string, Queue>();
  readonly topics = new Map<string, Topic>();
  /** (user, key) -> the first answer. */
  readonly idempotency = new IdempotencyCache();
  /** (user, producer id) -> the answers of its recent sequences (README, Producers). */
  readonly producers = new ProducerTable();
  /** The limits in force: the defaults until a `cluster.limits` entry sets them. */
  limits: BrokerLimits = DEFAULT_LIMITS;
  /** What each user holds, against the limits; derived, recounted on restore. */
  readonly usage = new UsageBook();
  /** Identity of queues, topics and subscriptions, so a recreated name is a new thing. */
  nextUid = 1;
  lastIndex = 0;

  constructor() {
    this.rt.moveToDeadLetter = (ref, msg) => {
      const q = this.queues.get(ref.name);
      // The dead-letter queue was deleted (or replaced): the message is dropped, as SQS does.
      // A dead-letter queue takes the message even past its limits: nobody could be refused.
      if (q !== undefined && q.uid === ref.uid) q.enqueueDeadLetter(msg);
    };
  }

  /** The identity a new queue, topic or subscription is created with. */
  newIdentity(name: string, owner: string): { uid: number; name: string; owner: string; createdAt: number } {
    return { uid: this.nextUid++, name, owner, createdAt: this.rt.now };
  }

  /** Counts every user's holdings from the state (after a restore). The recounts add
   *  to the zeroed usage objects the queues and topics already hold. */
  recountUsage(): void {
    this.usage.zero();
    // Pins are counted per entry first, then added in index order (PinSet appends).
    const pins = new Map<number, number>();
    const pin = (index: number) => pins.set(index, (pins.get(index) ?? 0) + 1);
    for (const q of this.queues.values()) {
      const u = this.usage.of(q.owner);
      u.queues++;
      u.grants += q.grants.size;
      q.bytes = 0;
      q.recount(pin);
    }
    for (const t of this.topics.values()) {
      const u = this.usage.of(t.owner);
      u.topics++;
      u.grants += t.grants.size;
      t.recount(pin);
      for (const sub of t.subscriptions.values()) this.usage.of(sub.cfg.owner).subscriptions++;
    }
    this.rt.pins.clear();
    for (const [index, n] of [...pins].sort((a, b) => a[0] - b[0])) this.rt.pins.add(index, n);
  }
}
