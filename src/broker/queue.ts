import { Channel } from './channel.js';
import { ExpiringMap } from './expiring-map.js';
import { Delivery, Message, messageIdPrefix } from './message.js';
import { MessageFifo } from './message-fifo.js';
import type { MessageMeta } from './send-codec.js';
import type { SentView } from './results.js';
import { queueTarget } from './targets.js';
import type { DeadLetterRef, Runtime } from './runtime.js';
import type { UserUsage } from './usage.js';

/** docs/API.md, Queues: a deduplicationId is remembered for five minutes on its queue or topic. */
export const DEDUP_WINDOW_MS = 5 * 60_000;

/** A sent message's answer: the id first sent under its deduplicationId within the
 *  window (deduplicated), else its own id, which then claims the deduplicationId. */
export function claimSent(dedup: ExpiringMap<string>, deduplicationId: string | undefined, id: string, now: number): SentView {
  if (deduplicationId !== undefined) {
    const first = dedup.claim(deduplicationId, id, now);
    if (first !== undefined) return { id: first, deduplicated: true };
  }
  return { id, deduplicated: false };
}

export const PERM_SEND = 1;
export const PERM_RECEIVE = 2;

export interface QueueConfig {
  uid: number;
  name: string;
  owner: string;
  createdAt: number;
  visibilityTimeoutMs: number;
  maxReceives: number | null;
  deadLetter: DeadLetterRef | null;
  retentionMs: number;
}

/** A queue: its FIFO of never-delivered messages in commit order (column-wise: no
 *  object per waiting message) plus the shared engine. */
export class Queue extends Channel {
  readonly fresh = new MessageFifo();
  /** Next commit sequence to give a message entering this queue. */
  nextSeq = 0;
  /** username -> PERM_SEND | PERM_RECEIVE bits. */
  readonly grants = new Map<string, number>();
  /** deduplicationId -> the id of the message first sent with it. */
  readonly dedup = new ExpiringMap<string>(DEDUP_WINDOW_MS);
  readonly uid: number;
  readonly name: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly retentionMs: number;
  /** Bytes of the messages stored here, in any state (Message.bytes). */
  bytes = 0;

  constructor(
    rt: Runtime,
    cfg: QueueConfig,
    /** The owner's usage: stored bytes are counted there too. */
    private readonly usage: UserUsage,
  ) {
    super(rt, queueTarget(cfg.name), cfg.visibilityTimeoutMs, cfg.maxReceives, cfg.deadLetter);
    this.uid = cfg.uid;
    this.name = cfg.name;
    this.owner = cfg.owner;
    this.createdAt = cfg.createdAt;
    this.retentionMs = cfg.retentionMs;
  }

  config(): QueueConfig {
    return {
      uid: this.uid, name: this.name, owner: this.owner, createdAt: this.createdAt,
      visibilityTimeoutMs: this.leaseMs, maxReceives: this.maxReceives,
      deadLetter: this.deadLetter, retentionMs: this.retentionMs,
    };
  }

  /** Enqueues a batch sent at log `index`; ids are (index, position in the batch), and
   *  so is where each body stays: in that entry of the log. `positions` gives each
   *  message's position in the entry when only some of its messages are sent (a
   *  producer's frames answered before are not: README, Producers). */
  send(messages: readonly MessageMeta[], index: number, positions?: readonly number[]): SentView[] {
    const now = this.rt.now;
    const out = new Array<SentView>(messages.length);
    const idPrefix = messageIdPrefix(index);
    let ready = false;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const pos = positions === undefined ? i : positions[i];
      if ((out[i] = claimSent(this.dedup, m.deduplicationId, idPrefix + pos.toString(36), now)).deduplicated) continue;
      const seq = this.nextSeq++;
      this.store(index, m.bytes);
      if (m.delayMs !== undefined && m.delayMs > 0) {
        this.addDelayed(new Delivery(new Message(index, pos, m.bytes, now, seq, now), this, 0), now + m.delayMs);
      } else {
        this.fresh.push(index, pos, m.bytes, now, seq, now);
        ready = true;
      }
    }
    if (ready) this.rt.markReady(this.target);
    return out;
  }

  /** A message arriving from another queue's or subscription's dead-lettering: it keeps
   *  its id, body (where it is: in the log, or inline) and sentAt; its retention starts now. */
  enqueueDeadLetter(msg: Message): void {
    const now = this.rt.now;
    if (msg.inline === null) this.store(msg.bodyIndex, msg.bytes);
    else this.count(msg.bytes);
    this.fresh.push(msg.idIndex, msg.idPos, msg.bytes, msg.sentAt, this.nextSeq++, now, msg.inline, msg.loc);
    this.rt.markReady(this.target);
  }

  /** Messages stored here in any state. */
  messageCount(): number {
    const st = this.stats();
    return st.ready + st.inflight + st.delayed;
  }

  /** Counts the bytes of every stored message again and pins their entries (after a
   *  restore); `pin` collects the log index of each body in the log. */
  recount(pin: (index: number) => void): void {
    let n = 0;
    this.fresh.view().forEach((idIndex, _pos, bytes, _sentAt, _seq, _enq, inline, loc) => {
      n += bytes;
      if (inline === null) pin(loc === null ? idIndex : loc.index);
    });
    for (const ds of [this.returned.values(), this.inflight.values(), this.delayed]) {
      for (const d of ds) {
        n += d.msg.bytes;
        if (d.msg.inline === null) pin(d.msg.bodyIndex);
      }
    }
    this.bytes = n;
    this.usage.queuedBytes += n;
  }

  /** A message whose body is in the log entry at `index` is stored here. */
  private store(index: number, bytes: number): void {
    this.rt.pins.add(index);
    this.count(bytes);
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    this.usage.queuedBytes += bytes;
  }

  protected override onLeave(msg: Message): void {
    super.onLeave(msg);
    this.bytes -= msg.bytes;
    this.usage.queuedBytes -= msg.bytes;
  }

  protected override onDropAll(): void {
    this.usage.queuedBytes -= this.bytes;
    this.bytes = 0;
  }

  /** Drops messages past retention from the head of the FIFO, and old dedup ids. */
  trim(): void {
    const now = this.rt.now;
    for (;;) {
      const head = this.fresh.peek();
      if (head === undefined || now - head.enqueuedAt < this.retentionMs) break;
      this.fresh.shift();
      this.onLeave(head);
    }
    this.trimReturned();
    this.dedup.expire(now);
  }

  isExpired(msg: Message): boolean {
    return this.rt.now - msg.enqueuedAt >= this.retentionMs;
  }

  freshCount(): number {
    return this.fresh.length;
  }

  protected peekFresh(): Message | undefined {
    return this.fresh.peek();
  }

  /** The stored message's pin passes to its delivery. */
  protected takeFresh(): void {
    this.fresh.shift();
  }

  protected dropFresh(): void {
    unpinRows(this.rt, this.fresh);
    this.fresh.clear();
  }
}

/** Removes the pins of every row of a FIFO, a run of rows from one entry at a time. */
export function unpinRows(rt: Runtime, fifo: MessageFifo): void {
  let index = -1;
  let n = 0;
  fifo.view().forEach((idIndex, _pos, _bytes, _sentAt, _seq, _enq, inline, loc) => {
    if (inline !== null) return;
    const at = loc === null ? idIndex : loc.index;
    if (at !== index && n > 0) {
      rt.pins.remove(index, n);
      n = 0;
    }
    index = at;
    n++;
  });
  if (n > 0) rt.pins.remove(index, n);
}
