import type { Channel } from './channel.js';
import type { Message } from './message.js';
import type { QueueConfig } from './queue.js';
import type { CommandResult } from './results.js';
import type { DeadLetterRef } from './runtime.js';
import type { BrokerState } from './state.js';
import type { SubscriptionConfig, TopicConfig } from './topic.js';

/**
 * A consistent, cheap copy of the broker's state for a snapshot. Messages, bodies,
 * configs and stored results are immutable, so they are shared, not copied; only what
 * changes (collections, cursors and each delivery's lease fields) is copied. Taking it is
 * the only pause; encoding it into bytes can then run in chunks while the node keeps
 * applying entries.
 */
export interface StateCapture {
  now: number;
  timerSeq: number;
  nextUid: number;
  lastIndex: number;
  users: [string, string][];
  idempotency: [string, CommandResult, number][];
  queues: QueueCapture[];
  topics: TopicCapture[];
  /** Sum of body lengths, to size the output buffer once. */
  bodyChars: number;
  messages: number;
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
  fresh: Message[];
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
  log: Message[];
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
    users: [...s.users],
    idempotency: [...s.idempotency.stamped()],
    queues: [],
    topics: [],
    bodyChars: 0,
    messages: 0,
  };
  for (const q of s.queues.values()) {
    const fresh: Message[] = new Array(q.fresh.length);
    let i = 0;
    for (const m of q.fresh) {
      fresh[i++] = m;
      cap.bodyChars += m.body.length;
    }
    const d = captureDeliveries(q, cap);
    cap.messages += fresh.length;
    cap.queues.push({
      cfg: q.config(), nextSeq: q.nextSeq, grants: [...q.grants], dedup: [...q.dedup.stamped()], fresh, ...d,
    });
  }
  for (const t of s.topics.values()) {
    const log: Message[] = [];
    for (const m of t.log) {
      log.push(m);
      cap.bodyChars += m.body.length;
    }
    cap.messages += log.length;
    const detached = new Map<number, Message>();
    const subscriptions: SubscriptionCapture[] = [];
    for (const sub of t.subscriptions.values()) {
      const d = captureDeliveries(sub, null);
      for (const list of [d.returned, d.inflight, d.delayed]) {
        const stride = list === d.returned ? 2 : 5;
        for (let k = 0; k < list.length; k += stride) {
          const m = list[k] as Message;
          if (m.seq < t.baseSeq && !detached.has(m.seq)) {
            detached.set(m.seq, m);
            cap.bodyChars += m.body.length;
            cap.messages++;
          }
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
function captureDeliveries(ch: Channel, cap: StateCapture | null): DeliveriesCapture {
  const returned: (Message | number)[] = [];
  for (const d of ch.returned.sorted()) returned.push(d.msg, d.receiveCount);
  const leased = (ds: Iterable<{ msg: Message; receiveCount: number; receipt: string | null; visibleAt: number; timerSeq: number }>) => {
    const out: (Message | number | string)[] = [];
    for (const d of ds) out.push(d.msg, d.receiveCount, d.receipt ?? '', d.visibleAt, d.timerSeq);
    return out;
  };
  const inflight = leased(ch.inflight.values());
  const delayed = leased(ch.delayed);
  if (cap !== null) {
    // Queue deliveries own their messages (subscriptions' are counted with the topic).
    for (let k = 0; k < returned.length; k += 2) cap.bodyChars += (returned[k] as Message).body.length;
    for (const list of [inflight, delayed]) {
      for (let k = 0; k < list.length; k += 5) cap.bodyChars += (list[k] as Message).body.length;
    }
    cap.messages += returned.length / 2 + inflight.length / 5 + delayed.length / 5;
  }
  return { returned, inflight, delayed };
}
