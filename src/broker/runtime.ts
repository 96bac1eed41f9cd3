import { IndexedHeap } from './heap.js';
import type { Delivery, Message } from './message.js';
import { PinSet } from './pins.js';
import { ReceiptMinter } from './receipts.js';

/** About 10 ms of work; every entry can add at most 100 leases, so backlogs drain. */
export const MAX_EXPIRIES_PER_ENTRY = 10_000;

/** Names a dead-letter queue; the uid tells a recreated queue of the same name apart. */
export interface DeadLetterRef {
  name: string;
  uid: number;
}

/**
 * What every channel shares while a command is applied: the replicated clock, the one
 * timer heap of leases and delays (keyed by replicated time, so expiry never scans), the
 * targets that gained ready messages, and the way to reach dead-letter queues.
 */
export class Runtime {
  /** Replicated time, monotonic: max(previous, entry time). */
  now = 0;
  /** Last issued timer tie-break. */
  timerSeq = 0;
  readonly timers = new IndexedHeap<Delivery>(
    (a, b) => a.visibleAt < b.visibleAt || (a.visibleAt === b.visibleAt && a.timerSeq < b.timerSeq),
  );
  readonly readyTargets = new Set<string>();
  /** Live messages per log entry of their body: the oldest is Broker.retainFrom(). A
   *  queue's stored message, a topic log's message and a subscription's delivery each
   *  hold one pin; bodies held in memory (inline) hold none. Derived, not snapshotted. */
  readonly pins = new PinSet();
  /** Mints receipt handles from the cluster's key; null until a key is installed. */
  receipts: ReceiptMinter | null = null;
  /** Installed by the broker: moves a message into a dead-letter queue, or drops it
   *  when that queue no longer exists. */
  moveToDeadLetter: (ref: DeadLetterRef, msg: Message) => void = () => {};

  pin(m: Message): void {
    if (m.inline === null) this.pins.add(m.bodyIndex);
  }

  unpin(m: Message): void {
    if (m.inline === null) this.pins.remove(m.bodyIndex);
  }

  schedule(d: Delivery, at: number): void {
    d.visibleAt = at;
    d.timerSeq = ++this.timerSeq;
    this.timers.push(d);
  }

  reschedule(d: Delivery, at: number): void {
    d.visibleAt = at;
    d.timerSeq = ++this.timerSeq;
    this.timers.update(d);
  }

  /**
   * Fires the leases and delays due at `now`, oldest first, at most `limit` of them:
   * a mass expiry (a clock jump, a burst of identical leases) is spread over the next
   * entries instead of stalling one apply. The rest stay at the top of the heap and go
   * first next time; until then such a lease still counts as in flight.
   */
  runTimers(limit = MAX_EXPIRIES_PER_ENTRY): void {
    for (let n = 0; n < limit; n++) {
      const top = this.timers.peek();
      if (top === undefined || top.visibleAt > this.now) return;
      this.timers.pop();
      top.channel.onTimer(top);
    }
  }

  /** The first key wins: the cluster's handles never change key. */
  installReceiptKey(keyHex: string): void {
    if (this.receipts === null) this.receipts = new ReceiptMinter(keyHex);
  }

  markReady(target: string): void {
    this.readyTargets.add(target);
  }
}
