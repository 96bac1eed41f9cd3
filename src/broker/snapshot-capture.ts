import type { Channel } from './channel.js';
import type { Message } from './message.js';
import type { FifoView } from './message-fifo.js';
import type { QueueConfig } from './queue.js';
import type { StoredAnswer } from './idempotency.js';
import type { ProducerWindow } from './producers.js';
import type { BrokerLimits } from './quotas.js';
import type { DeadLetterRef } from './runtime.js';
import type { BrokerState } from './state.js';
import type { SubscriptionConfig, TopicConfig } from './topic.js';

/**
 * A consistent, cheap copy of the broker's state for a snapshot. Messages, configs and
 * stored results are immutable, so they are shared, not copied; FIFOs of fresh messages
 * are frozen views of their chunks (MessageFifo.view); only what changes (collections,
 * cursors and each delivery's lease fields) is copied. Taking it is
 * the only pause; encoding it into bytes can then run in chunks while the node keeps
 * applying entries.
 */
export interface StateCapture {
  now: number;
  timerSeq: number;
  nextUid: number;
  lastIndex: number;
  /** The cluster's receipt key (hex), '' before there is one. */
  receiptKey: string;
  limits: BrokerLimits;
  users: [string, string][];
  /** [owner, key, answer, at], oldest first. */
  idempotency: [string, string, StoredAnswer, number][];
  /** Copies of the producers' windows, least recently used first. */
  producers: ProducerWindow[];
  queues: QueueCapture[];
  topics: TopicCapture[];
}

/** A channel's deliveries, flattened to keep the copy cheap:
 *  returned: [msg, receiveCount]*, leased: [msg, receiveCount, receipt, visibleAt, timerSeq]*. */
export interface DeliveriesCapture {
  returned: (Message | number)[];
  inflight: (Message | number | string)[];
  delayed: (Message | number | string)[];
}

export interface QueueCapture extends DeliveriesCapture {
  cfg: QueueConfig;
  nextSeq: number;
  grants: [string, number][];
  dedup: [string, string, number][];
  fresh: FifoView;
}

export interface SubscriptionCapture extends DeliveriesCapture {
  cfg: SubscriptionConfig;
  deadLetter: DeadLetterRef | null;
  cursor: number;
}

export interface TopicCapture {
  cfg: TopicConfig;
  baseSeq: number;
  nextSeq: number;
  grants: [string, number][];
  dedup: [string, string, number][];
  log: FifoView;
  /** Messages subscriptions still hold that the log already let go of, by sequence. */
  detached: Message[];
  subscriptions: SubscriptionCapture[];
}

export function captureState(s: BrokerState): StateCapture {
  const cap: StateCapture = {
    now: s.rt.now,
    timerSeq: s.rt.timerSeq,
    nextUid: s.nextUid,
    lastIndex: s.lastIndex,
    receiptKey: s.rt.receipts?.keyHex ?? '',
    limits: s.limits,
    users: [...s.users],
    idempotency: [...s.idempotency.stamped()],
    producers: [...s.producers.values()].map((w) => w.copy()),
    queues: [],
    topics: [],
  };
  for (const q of s.queues.values()) {
    const fresh = q.fresh.view();
    const d = captureDeliveries(q);
    cap.queues.push({
      cfg: q.config(), nextSeq: q.nextSeq, grants: [...q.grants], dedup: [...q.dedup.stamped()], fresh, ...d,
    });
  }
  for (const t of s.topics.values()) {
    const log = t.log.view();
    const detached = new Map<number, Message>();
    const subscriptions: SubscriptionCapture[] = [];
    for (const sub of t.subscriptions.values()) {
      const d = captureDeliveries(sub);
      for (const list of [d.returned, d.inflight, d.delayed]) {
        const stride = list === d.returned ? 2 : 5;
        for (let k = 0; k < list.length; k += stride) {
          const m = list[k] as Message;
          if (m.seq < t.baseSeq) detached.set(m.seq, m);
        }
      }
      subscriptions.push({ cfg: sub.cfg, deadLetter: sub.deadLetter, cursor: sub.cursor, ...d });
    }
    cap.topics.push({
      cfg: t.cfg, baseSeq: t.baseSeq, nextSeq: t.nextSeq, grants: [...t.grants], dedup: [...t.dedup.stamped()],
      log, detached: [...detached.values()].sort((a, b) => a.seq - b.seq), subscriptions,
    });
  }
  return cap;
}

/** Returned deliveries in pop order (by sequence), inflight in lease-map order, delayed
 *  in set order: all decided by the log alone, and reproduced by restore. */
function captureDeliveries(ch: Channel): DeliveriesCapture {
  const returned: (Message | number)[] = [];
  for (const d of ch.returned.sorted()) returned.push(d.msg, d.receiveCount);
  const leased = (ds: Iterable<{ msg: Message; receiveCount: number; receipt: string | null; visibleAt: number; timerSeq: number }>) => {
    const out: (Message | number | string)[] = [];
    for (const d of ds) out.push(d.msg, d.receiveCount, d.receipt ?? '', d.visibleAt, d.timerSeq);
    return out;
  };
  const inflight = leased(ch.inflight.values());
  const delayed = leased(ch.delayed);
  return { returned, inflight, delayed };
}
