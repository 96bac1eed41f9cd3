import { IndexedHeap } from './heap.js';
import { Delivery, DeliveryState, type ChannelRef, type Message } from './message.js';
import { legacyReceipt } from './receipts.js';
import { ReceivedRef } from './received.js';
import type { QueueStats } from './results.js';
import type { DeadLetterRef, Runtime } from './runtime.js';

/**
 * The delivery engine a queue and a subscription share: fresh messages come from the
 * subclass (a queue's FIFO, a subscription's cursor over its topic's log); messages whose
 * lease ended or whose delay passed wait in `returned`, ordered by their commit sequence,
 * so that ready messages always leave in commit order.
 */
export abstract class Channel implements ChannelRef {
  readonly inflight = new Map<string, Delivery>();
  readonly returned = new IndexedHeap<Delivery>((a, b) => a.msg.seq < b.msg.seq);
  /** Deliveries waiting out a send or nack delay (also in the shared timer heap). */
  readonly delayed = new Set<Delivery>();

  constructor(
    protected readonly rt: Runtime,
    readonly target: string,
    /** Lease length when a receive names none. */
    public leaseMs: number,
    public maxReceives: number | null,
    public deadLetter: DeadLetterRef | null,
  ) {}

  /**
   * Drops returned deliveries past retention now rather than at the next receive, so
   * that stats() counts only messages that can still be delivered. Commit order is
   * retention order, so the expired ones are at the top of the heap.
   */
  trimReturned(): void {
    for (;;) {
      const top = this.returned.peek();
      if (top === undefined || !this.isExpired(top.msg)) return;
      this.returned.pop();
      this.onLeave(top.msg);
    }
  }

  /** Identity of this queue or subscription (a recreated name gets a new one). */
  abstract readonly uid: number;

  abstract freshCount(): number;
  protected abstract peekFresh(): Message | undefined;
  /** Removes the message peekFresh() returned; it becomes a delivery of this channel. */
  protected abstract takeFresh(msg: Message): void;
  /** Past its retention: never delivered again. */
  abstract isExpired(msg: Message): boolean;

  /** Leases up to `max` ready messages for `leaseMs`. Receipts are minted from the
   *  cluster's receipt key (receipts.ts); without one (entries of logs written before
   *  keys existed) they are the legacy `<index>.<position>`. */
  receive(max: number, leaseMs: number, index: number): ReceivedRef[] {
    const taken: Delivery[] = [];
    const rt = this.rt;
    while (taken.length < max) {
      const back = this.returned.peek();
      const fresh = this.peekFresh();
      let d: Delivery;
      if (back !== undefined && (fresh === undefined || back.msg.seq < fresh.seq)) {
        this.returned.pop();
        d = back;
      } else if (fresh !== undefined) {
        this.takeFresh(fresh);
        d = new Delivery(fresh, this, 0);
      } else break;
      if (this.isExpired(d.msg)) {
        this.onLeave(d.msg);
        continue;
      }
      d.receiveCount++;
      d.state = DeliveryState.Inflight;
      rt.schedule(d, rt.now + leaseMs);
      taken.push(d);
    }
    const out = new Array<ReceivedRef>(taken.length);
    if (taken.length === 0) return out;
    let handles: string[];
    if (rt.receipts !== null) {
      const leases: number[] = [];
      for (const d of taken) leases.push(this.uid, d.msg.seq, d.receiveCount);
      handles = rt.receipts.mint(leases);
    } else {
      handles = taken.map((_, pos) => legacyReceipt(index, pos));
    }
    for (let i = 0; i < taken.length; i++) {
      const d = taken[i];
      d.receipt = handles[i];
      this.inflight.set(d.receipt, d);
      out[i] = new ReceivedRef(d.msg, d.receipt, d.receiveCount);
    }
    return out;
  }

  /** The message a live lease holds, as a receive answered it; undefined once that
   *  lease is over (acked, released, expired, or the message leased again). */
  leased(handle: string): ReceivedRef | undefined {
    const d = this.inflight.get(handle);
    return d === undefined ? undefined : new ReceivedRef(d.msg, handle, d.receiveCount);
  }

  ack(handles: readonly string[]): { acked: number; unknown: string[] } {
    const { ended, unknown } = this.endLeases(handles, (d, handle) => {
      this.inflight.delete(handle);
      d.receipt = null;
      this.onLeave(d.msg);
    });
    return { acked: ended, unknown };
  }

  nack(handles: readonly string[], delayMs: number): { released: number; unknown: string[] } {
    const { ended, unknown } = this.endLeases(handles, (d) => this.endLease(d, delayMs));
    return { released: ended, unknown };
  }

  /** Ends the lease of each live receipt (off the timer heap, then `end`); stale or
   *  made-up handles come back as unknown. */
  private endLeases(handles: readonly string[], end: (d: Delivery, handle: string) => void): { ended: number; unknown: string[] } {
    let ended = 0;
    const unknown: string[] = [];
    for (const h of handles) {
      const d = this.inflight.get(h);
      if (d === undefined) {
        unknown.push(h);
        continue;
      }
      this.rt.timers.remove(d);
      end(d, h);
      ended++;
    }
    return { ended, unknown };
  }

  /** New lease end for a live receipt, counted from now; undefined if the receipt is stale. */
  extend(handle: string, leaseMs: number): number | undefined {
    const d = this.inflight.get(handle);
    if (d === undefined) return undefined;
    this.rt.reschedule(d, this.rt.now + leaseMs);
    return d.visibleAt;
  }

  /** A lease or a delay reached its end (the delivery was already popped off the timers). */
  onTimer(d: Delivery): void {
    if (d.state === DeliveryState.Inflight) {
      this.endLease(d, 0);
    } else {
      this.delayed.delete(d);
      this.makeReturned(d);
    }
  }

  /** Adds a delivery that stays invisible until `at` (send delay, restore). */
  addDelayed(d: Delivery, at: number): void {
    d.state = DeliveryState.Delayed;
    this.delayed.add(d);
    this.rt.schedule(d, at);
  }

  /** Drops every message (purge, delete); returns how many there were. */
  dropAll(): number {
    const n = this.freshCount() + this.returned.size + this.inflight.size + this.delayed.size;
    const rt = this.rt;
    for (const d of this.inflight.values()) {
      rt.timers.remove(d);
      rt.unpin(d.msg);
    }
    for (const d of this.delayed) {
      rt.timers.remove(d);
      rt.unpin(d.msg);
    }
    for (const d of this.returned.values()) rt.unpin(d.msg);
    this.inflight.clear();
    this.delayed.clear();
    this.returned.clear();
    this.dropFresh();
    this.onDropAll();
    return n;
  }

  protected abstract dropFresh(): void;

  /** A message left this channel for good (acked, expired, dead-lettered or dropped):
   *  its pin goes (Runtime.pins); queues count their stored bytes with it. */
  protected onLeave(msg: Message): void {
    this.rt.unpin(msg);
  }

  /** Every message was dropped at once (purge, delete). */
  protected onDropAll(): void {}

  /** The channel is being deleted: drops every message and wakes the long polls
   *  waiting on it, which then find it gone. */
  discard(): void {
    this.dropAll();
    this.rt.markReady(this.target);
  }

  stats(): QueueStats {
    return {
      ready: this.freshCount() + this.returned.size,
      inflight: this.inflight.size,
      delayed: this.delayed.size,
    };
  }

  private endLease(d: Delivery, delayMs: number): void {
    if (d.receipt !== null) this.inflight.delete(d.receipt);
    d.receipt = null;
    if (this.isExpired(d.msg)) {
      this.onLeave(d.msg);
      return;
    }
    if (this.maxReceives !== null && d.receiveCount >= this.maxReceives) {
      // The dead-letter queue pins the entry before this channel lets go of it, so the
      // pin stays where it is (PinSet: adding at an existing index is cheap).
      if (this.deadLetter !== null) this.rt.moveToDeadLetter(this.deadLetter, d.msg);
      this.onLeave(d.msg);
      return;
    }
    if (delayMs > 0) this.addDelayed(d, this.rt.now + delayMs);
    else this.makeReturned(d);
  }

  private makeReturned(d: Delivery): void {
    if (this.isExpired(d.msg)) {
      this.onLeave(d.msg);
      return;
    }
    d.state = DeliveryState.Returned;
    this.returned.push(d);
    this.rt.markReady(this.target);
  }
}
