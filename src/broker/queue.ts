import { Channel } from './channel.js';
import type { SendMessage } from './commands.js';
import { Deque } from './deque.js';
import { ExpiringMap } from './expiring-map.js';
import { Delivery, Message, messageIdPrefix, storedAttributes } from './message.js';
import type { SentView } from './results.js';
import type { DeadLetterRef, Runtime } from './runtime.js';

/** docs/API.md, Queues: a deduplicationId is remembered for five minutes on its queue or topic. */
export const DEDUP_WINDOW_MS = 5 * 60_000;

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

  constructor(rt: Runtime, cfg: QueueConfig) {
    super(rt, `queue:${cfg.name}`, cfg.visibilityTimeoutMs, cfg.maxReceives, cfg.deadLetter);
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
      if (m.deduplicationId !== undefined) {
        const first = this.dedup.claim(m.deduplicationId, idPrefix + pos.toString(36), now);
        if (first !== undefined) {
          out[pos] = { id: first, deduplicated: true };
          continue;
        }
      }
      const attrs = storedAttributes(m.attributes);
      const msg = new Message(index, pos, m.body, attrs, now, this.nextSeq++, now);
      if (m.delayMs !== undefined && m.delayMs > 0) {
        this.addDelayed(new Delivery(msg, this, 0), now + m.delayMs);
      } else {
        this.fresh.push(msg);
        ready = true;
      }
      out[pos] = { id: idPrefix + pos.toString(36), deduplicated: false };
    }
    if (ready) this.rt.markReady(this.target);
    return out;
  }

  /** A message arriving from another queue's or subscription's dead-lettering: it keeps
   *  its id, body, attributes and sentAt; its retention starts now. */
  enqueueDeadLetter(msg: Message): void {
    const now = this.rt.now;
    this.fresh.push(new Message(msg.idIndex, msg.idPos, msg.body, msg.attributes, msg.sentAt, this.nextSeq++, now));
    this.rt.markReady(this.target);
  }

  /** Drops messages past retention from the head of the FIFO, and old dedup ids. */
  trim(): void {
    const now = this.rt.now;
    for (;;) {
      const head = this.fresh.peek();
      if (head === undefined || now - head.enqueuedAt < this.retentionMs) break;
      this.fresh.shift();
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
