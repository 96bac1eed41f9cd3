import { Channel } from './channel.js';
import { ExpiringMap } from './expiring-map.js';
import { messageIdPrefix, type Message } from './message.js';
import { MessageFifo } from './message-fifo.js';
import { claimSent, DEDUP_WINDOW_MS, unpinRows } from './queue.js';
import type { MessageMeta } from './send-codec.js';
import type { SentView } from './results.js';
import { subscriptionTarget } from './targets.js';
import type { DeadLetterRef, Runtime } from './runtime.js';
import type { UserUsage } from './usage.js';

export const PERM_PUBLISH = 1;
export const PERM_SUBSCRIBE = 2;

export interface TopicConfig {
  uid: number;
  name: string;
  owner: string;
  createdAt: number;
  public: boolean;
  retentionMs: number;
}

/**
 * A topic stores each published message once, in `log` (one row, its body in the log
 * entry of the publish), for as long as some subscription has not yet taken it (each
 * subscription keeps a cursor into the log). A subscription created later starts at
 * the end: it gets only later messages.
 */
export class Topic {
  /** Messages with sequence numbers baseSeq .. nextSeq-1, in publish order. */
  readonly log = new MessageFifo();
  baseSeq = 0;
  nextSeq = 0;
  readonly subscriptions = new Map<string, Subscription>();
  /** username -> PERM_PUBLISH | PERM_SUBSCRIBE bits. */
  readonly grants = new Map<string, number>();
  readonly dedup = new ExpiringMap<string>(DEDUP_WINDOW_MS);
  /** Bytes of the messages in `log` (Message.bytes), also counted in the owner's usage. */
  bytes = 0;

  constructor(
    private readonly rt: Runtime,
    readonly cfg: TopicConfig,
    private readonly usage: UserUsage,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  get owner(): string {
    return this.cfg.owner;
  }

  /** As Queue.send: `positions` are the messages' positions in the entry when only
   *  some of its messages are published. */
  publish(messages: readonly MessageMeta[], index: number, positions?: readonly number[]): SentView[] {
    const now = this.rt.now;
    const out = new Array<SentView>(messages.length);
    const stored = this.subscriptions.size > 0;
    const idPrefix = messageIdPrefix(index);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const pos = positions === undefined ? i : positions[i];
      if ((out[i] = claimSent(this.dedup, m.deduplicationId, idPrefix + pos.toString(36), now)).deduplicated) continue;
      const seq = this.nextSeq++;
      // With no subscription nobody will ever read it: publish succeeds, nothing is kept.
      if (stored) {
        this.log.push(index, pos, m.bytes, now, seq, now);
        this.rt.pins.add(index);
        this.bytes += m.bytes;
        this.usage.queuedBytes += m.bytes;
      } else this.baseSeq = this.nextSeq;
    }
    if (stored) for (const sub of this.subscriptions.values()) this.rt.markReady(sub.target);
    return out;
  }

  /** Drops log messages every subscription has taken or that are past retention. */
  trim(): void {
    const now = this.rt.now;
    let minCursor = this.nextSeq;
    for (const sub of this.subscriptions.values()) if (sub.cursor < minCursor) minCursor = sub.cursor;
    for (;;) {
      const head = this.log.peek();
      if (head === undefined) break;
      if (head.seq >= minCursor && now - head.sentAt < this.cfg.retentionMs) break;
      this.log.shift();
      this.rt.unpin(head);
      this.bytes -= head.bytes;
      this.usage.queuedBytes -= head.bytes;
      this.baseSeq++;
    }
    for (const sub of this.subscriptions.values()) sub.trimReturned();
    this.dedup.expire(now);
  }

  isExpired(msg: Message): boolean {
    return this.rt.now - msg.sentAt >= this.cfg.retentionMs;
  }

  /** The topic is deleted: its log no longer counts for its owner nor pins entries. */
  release(): void {
    unpinRows(this.rt, this.log);
    this.log.clear();
    this.usage.queuedBytes -= this.bytes;
    this.bytes = 0;
  }

  /** Counts the bytes of the log again and the entries it and the subscriptions' deliveries
   *  pin (after a restore). */
  recount(pin: (index: number) => void): void {
    let n = 0;
    this.log.view().forEach((idIndex, _pos, bytes, _sentAt, _seq, _enq, inline, loc) => {
      n += bytes;
      if (inline === null) pin(loc === null ? idIndex : loc.index);
    });
    for (const sub of this.subscriptions.values()) {
      for (const ds of [sub.returned.values(), sub.inflight.values(), sub.delayed]) {
        for (const d of ds) if (d.msg.inline === null) pin(d.msg.bodyIndex);
      }
    }
    this.bytes = n;
    this.usage.queuedBytes += n;
  }

  /** The message with sequence `seq`, if still in the log. */
  at(seq: number): Message | undefined {
    return seq >= this.baseSeq ? this.log.at(seq - this.baseSeq) : undefined;
  }
}

export interface SubscriptionConfig {
  uid: number;
  name: string;
  owner: string;
  createdAt: number;
  ackTimeoutMs: number;
  maxDeliveries: number | null;
  deadLetter: DeadLetterRef | null;
}

/** A durable queue fed by its topic: a cursor into the topic's log plus its own leases. */
export class Subscription extends Channel {
  /** Sequence of the next topic message this subscription has not taken yet. */
  cursor: number;

  constructor(
    rt: Runtime,
    readonly topic: Topic,
    readonly cfg: SubscriptionConfig,
  ) {
    super(rt, subscriptionTarget(topic.name, cfg.name), cfg.ackTimeoutMs, cfg.maxDeliveries, cfg.deadLetter);
    this.cursor = topic.nextSeq;
  }

  get name(): string {
    return this.cfg.name;
  }

  get uid(): number {
    return this.cfg.uid;
  }

  isExpired(msg: Message): boolean {
    return this.topic.isExpired(msg);
  }

  freshCount(): number {
    return this.topic.nextSeq - Math.max(this.cursor, this.topic.baseSeq);
  }

  protected peekFresh(): Message | undefined {
    if (this.cursor < this.topic.baseSeq) this.cursor = this.topic.baseSeq;
    return this.topic.at(this.cursor);
  }

  /** The delivery pins the entry too: the topic's log may let go of it first. */
  protected takeFresh(msg: Message): void {
    this.cursor++;
    this.rt.pin(msg);
  }

  protected dropFresh(): void {
    this.cursor = this.topic.nextSeq;
  }
}
