import { Channel } from './channel.js';
import type { SendMessage } from './commands.js';
import { Deque } from './deque.js';
import { ExpiringMap } from './expiring-map.js';
import { Delivery, Message, messageIdPrefix, storedAttributes } from './message.js';
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

/** A queue: its FIFO of never-delivered messages in commit order plus the shared engine. */
export class Queue extends Channel {
  readonly fresh = new Deque<Message>();
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

  /** Enqueues a batch sent at log `index`; ids are (index, position in the batch). */
  send(messages: readonly SendMessage[], index: number): SentView[] {
    const now = this.rt.now;
    const out = new Array<SentView>(messages.length);
    const idPrefix = messageIdPrefix(index);
    let ready = false;
    for (let pos = 0; pos < messages.length; pos++) {
      const m = messages[pos];
      if ((out[pos] = claimSent(this.dedup, m.deduplicationId, idPrefix + pos.toString(36), now)).deduplicated) continue;
      const attrs = storedAttributes(m.attributes);
      const msg = new Message(index, pos, m.body, attrs, now, this.nextSeq++, now);
      this.store(msg);
      if (m.delayMs !== undefined && m.delayMs > 0) {
        this.addDelayed(new Delivery(msg, this, 0), now + m.delayMs);
      } else {
        this.fresh.push(msg);
        ready = true;
      }
    }
    if (ready) this.rt.markReady(this.target);
    return out;
  }

  /** A message arriving from another queue's or subscription's dead-lettering: it keeps
   *  its id, body, attributes and sentAt; its retention starts now. */
  enqueueDeadLetter(msg: Message): void {
    const now = this.rt.now;
    const moved = new Message(msg.idIndex, msg.idPos, msg.body, msg.attributes, msg.sentAt, this.nextSeq++, now);
    this.store(moved);
    this.fresh.push(moved);
    this.rt.markReady(this.target);
  }

  /** Messages stored here in any state. */
  messageCount(): number {
    const st = this.stats();
    return st.ready + st.inflight + st.delayed;
  }

  /** Counts the bytes of every stored message again (after a restore). */
  recount(): void {
    let n = 0;
    for (const m of this.fresh) n += m.bytes;
    for (const d of this.returned.values()) n += d.msg.bytes;
    for (const d of this.inflight.values()) n += d.msg.bytes;
    for (const d of this.delayed) n += d.msg.bytes;
    this.bytes = n;
    this.usage.queuedBytes += n;
  }

  private store(msg: Message): void {
    this.bytes += msg.bytes;
    this.usage.queuedBytes += msg.bytes;
  }

  protected override onLeave(msg: Message): void {
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

  protected takeFresh(): void {
    this.fresh.shift();
  }

  protected dropFresh(): void {
    this.fresh.clear();
  }
}
