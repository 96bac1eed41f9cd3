import { BinaryReader, BinaryWriter } from './binary.js';
import type { Channel } from './channel.js';
import { BrokerError } from './errors.js';
import { Delivery, DeliveryState, Message, NO_ATTRIBUTES } from './message.js';
import { Queue } from './queue.js';
import type { CommandResult } from './results.js';
import type { DeadLetterRef } from './runtime.js';
import { BrokerState } from './state.js';
import { Subscription, Topic } from './topic.js';

/**
 * The snapshot image: a compact binary dump of BrokerState. Canonical: heaps are written
 * in pop order and Maps in insertion order (which the log alone decides and restore
 * reproduces), so equal states give equal bytes and stateHash can hash the image.
 */
const MAGIC = 0x4d4f4d42; // "MOMB"
const VERSION = 1;

export function writeSnapshot(s: BrokerState): Uint8Array {
  const w = new BinaryWriter(initialSize(s));
  w.uint(MAGIC);
  w.u8(VERSION);
  w.f64(s.rt.now);
  w.uint(s.rt.timerSeq);
  w.uint(s.nextUid);
  w.uint(s.lastIndex);

  w.uint(s.users.size);
  for (const [name, hash] of s.users) {
    w.str(name);
    w.str(hash);
  }

  w.uint(s.idempotency.size);
  for (const [key, result, at] of s.idempotency.stamped()) {
    w.str(key);
    w.str(JSON.stringify(result));
    w.f64(at);
  }

  w.uint(s.queues.size);
  for (const q of s.queues.values()) writeQueue(w, q);

  w.uint(s.topics.size);
  for (const t of s.topics.values()) writeTopic(w, t);
  return w.bytes();
}

export function readSnapshot(image: Uint8Array): BrokerState {
  const r = new BinaryReader(image);
  if (r.uint() !== MAGIC || r.u8() !== VERSION) {
    throw new BrokerError('validation_failed', 'not a broker snapshot of a known version');
  }
  const s = new BrokerState();
  s.rt.now = r.f64();
  s.rt.timerSeq = r.uint();
  s.nextUid = r.uint();
  s.lastIndex = r.uint();

  for (let n = r.uint(); n > 0; n--) s.users.set(r.str(), r.str());
  for (let n = r.uint(); n > 0; n--) {
    const key = r.str();
    const result = JSON.parse(r.str()) as CommandResult;
    s.idempotency.load(key, result, r.f64());
  }
  for (let n = r.uint(); n > 0; n--) {
    const q = readQueue(r, s);
    s.queues.set(q.name, q);
  }
  for (let n = r.uint(); n > 0; n--) {
    const t = readTopic(r, s);
    s.topics.set(t.name, t);
  }
  if (!r.done) throw new BrokerError('validation_failed', 'trailing bytes after the snapshot image');
  return s;
}

function initialSize(s: BrokerState): number {
  // Bodies dominate; a rough guess saves most of the doubling copies on big states.
  let messages = 0;
  for (const q of s.queues.values()) messages += q.fresh.length + q.inflight.size + q.returned.size;
  return Math.min(2 ** 30, 64 * 1024 + messages * 64);
}

function writeMessage(w: BinaryWriter, m: Message): void {
  w.uint(m.idIndex);
  w.uint(m.idPos);
  w.str(m.body);
  const keys = Object.keys(m.attributes);
  w.uint(keys.length);
  for (const k of keys) {
    w.str(k);
    w.str(m.attributes[k]);
  }
  w.f64(m.sentAt);
  w.uint(m.seq);
  w.f64(m.enqueuedAt);
}

function readMessage(r: BinaryReader): Message {
  const idIndex = r.uint();
  const idPos = r.uint();
  const body = r.str();
  let attributes: Record<string, string> = NO_ATTRIBUTES as Record<string, string>;
  const n = r.uint();
  if (n > 0) {
    attributes = {};
    for (let i = 0; i < n; i++) attributes[r.str()] = r.str();
  }
  const sentAt = r.f64();
  const seq = r.uint();
  return new Message(idIndex, idPos, body, attributes, sentAt, seq, r.f64());
}

function writeDeadLetter(w: BinaryWriter, ref: DeadLetterRef | null): void {
  w.bool(ref !== null);
  if (ref !== null) {
    w.str(ref.name);
    w.uint(ref.uid);
  }
}

function readDeadLetter(r: BinaryReader): DeadLetterRef | null {
  return r.bool() ? { name: r.str(), uid: r.uint() } : null;
}

function writeGrants(w: BinaryWriter, grants: Map<string, number>): void {
  w.uint(grants.size);
  for (const [user, bits] of grants) {
    w.str(user);
    w.u8(bits);
  }
}

function readGrants(r: BinaryReader, grants: Map<string, number>): void {
  for (let n = r.uint(); n > 0; n--) grants.set(r.str(), r.u8());
}

function writeDedup(w: BinaryWriter, dedup: Queue['dedup']): void {
  w.uint(dedup.size);
  for (const [key, id, at] of dedup.stamped()) {
    w.str(key);
    w.str(id);
    w.f64(at);
  }
}

function readDedup(r: BinaryReader, dedup: Queue['dedup']): void {
  for (let n = r.uint(); n > 0; n--) dedup.load(r.str(), r.str(), r.f64());
}

/** Deliveries of a channel: returned (pop order), inflight (map order), delayed (set
 *  order); `msg` writes the message (queues inline, subscriptions by topic sequence). */
function writeDeliveries(w: BinaryWriter, ch: Channel, msg: (m: Message) => void): void {
  const returned = ch.returned.sorted();
  w.uint(returned.length);
  for (const d of returned) {
    msg(d.msg);
    w.uint(d.receiveCount);
  }
  for (const group of [ch.inflight.values(), ch.delayed.values()]) {
    const list = [...group];
    w.uint(list.length);
    for (const d of list) {
      msg(d.msg);
      w.uint(d.receiveCount);
      w.str(d.receipt ?? '');
      w.f64(d.visibleAt);
      w.uint(d.timerSeq);
    }
  }
}

function readDeliveries(r: BinaryReader, s: BrokerState, ch: Channel, msg: () => Message): void {
  for (let n = r.uint(); n > 0; n--) {
    const d = new Delivery(msg(), ch, r.uint());
    d.state = DeliveryState.Returned;
    ch.returned.push(d);
  }
  for (const state of [DeliveryState.Inflight, DeliveryState.Delayed]) {
    for (let n = r.uint(); n > 0; n--) {
      const d = new Delivery(msg(), ch, r.uint());
      const receipt = r.str();
      d.state = state;
      d.visibleAt = r.f64();
      d.timerSeq = r.uint();
      if (state === DeliveryState.Inflight) {
        d.receipt = receipt;
        ch.inflight.set(receipt, d);
      } else {
        ch.delayed.add(d);
      }
      s.rt.timers.push(d);
    }
  }
}

function writeQueue(w: BinaryWriter, q: Queue): void {
  w.uint(q.uid);
  w.str(q.name);
  w.str(q.owner);
  w.f64(q.createdAt);
  w.uint(q.leaseMs);
  w.optUint(q.maxReceives);
  writeDeadLetter(w, q.deadLetter);
  w.uint(q.retentionMs);
  w.uint(q.nextSeq);
  writeGrants(w, q.grants);
  writeDedup(w, q.dedup);
  w.uint(q.fresh.length);
  for (const m of q.fresh) writeMessage(w, m);
  writeDeliveries(w, q, (m) => writeMessage(w, m));
}

function readQueue(r: BinaryReader, s: BrokerState): Queue {
  const q = new Queue(s.rt, {
    uid: r.uint(),
    name: r.str(),
    owner: r.str(),
    createdAt: r.f64(),
    visibilityTimeoutMs: r.uint(),
    maxReceives: r.optUint(),
    deadLetter: readDeadLetter(r),
    retentionMs: r.uint(),
  });
  q.nextSeq = r.uint();
  readGrants(r, q.grants);
  readDedup(r, q.dedup);
  for (let n = r.uint(); n > 0; n--) q.fresh.push(readMessage(r));
  readDeliveries(r, s, q, () => readMessage(r));
  return q;
}

function writeTopic(w: BinaryWriter, t: Topic): void {
  w.uint(t.cfg.uid);
  w.str(t.cfg.name);
  w.str(t.cfg.owner);
  w.f64(t.cfg.createdAt);
  w.bool(t.cfg.public);
  w.uint(t.cfg.retentionMs);
  w.uint(t.baseSeq);
  w.uint(t.nextSeq);
  writeGrants(w, t.grants);
  writeDedup(w, t.dedup);
  w.uint(t.log.length);
  for (const m of t.log) writeMessage(w, m);
  // Messages some subscription still holds but the log has already let go of: written
  // once each, in sequence order, however many subscriptions hold them.
  const detached = new Map<number, Message>();
  for (const sub of t.subscriptions.values()) {
    for (const d of [...sub.returned.values(), ...sub.inflight.values(), ...sub.delayed]) {
      if (d.msg.seq < t.baseSeq) detached.set(d.msg.seq, d.msg);
    }
  }
  const detachedSorted = [...detached.values()].sort((a, b) => a.seq - b.seq);
  w.uint(detachedSorted.length);
  for (const m of detachedSorted) writeMessage(w, m);
  w.uint(t.subscriptions.size);
  for (const sub of t.subscriptions.values()) {
    w.uint(sub.cfg.uid);
    w.str(sub.cfg.name);
    w.str(sub.cfg.owner);
    w.f64(sub.cfg.createdAt);
    w.uint(sub.cfg.ackTimeoutMs);
    w.optUint(sub.cfg.maxDeliveries);
    writeDeadLetter(w, sub.cfg.deadLetter);
    w.uint(sub.cursor);
    writeDeliveries(w, sub, (m) => w.uint(m.seq));
  }
}

function readTopic(r: BinaryReader, s: BrokerState): Topic {
  const t = new Topic(s.rt, {
    uid: r.uint(),
    name: r.str(),
    owner: r.str(),
    createdAt: r.f64(),
    public: r.bool(),
    retentionMs: r.uint(),
  });
  t.baseSeq = r.uint();
  t.nextSeq = r.uint();
  readGrants(r, t.grants);
  readDedup(r, t.dedup);
  for (let n = r.uint(); n > 0; n--) t.log.push(readMessage(r));
  const detached = new Map<number, Message>();
  for (let n = r.uint(); n > 0; n--) {
    const m = readMessage(r);
    detached.set(m.seq, m);
  }
  const bySeq = (): Message => {
    const seq = r.uint();
    const m = t.at(seq) ?? detached.get(seq);
    if (m === undefined) throw new BrokerError('validation_failed', `snapshot refers to missing topic message ${seq}`);
    return m;
  };
  for (let n = r.uint(); n > 0; n--) {
    const sub = new Subscription(s.rt, t, {
      uid: r.uint(),
      name: r.str(),
      owner: r.str(),
      createdAt: r.f64(),
      ackTimeoutMs: r.uint(),
      maxDeliveries: r.optUint(),
      deadLetter: readDeadLetter(r),
    });
    sub.cursor = r.uint();
    readDeliveries(r, s, sub, bySeq);
    t.subscriptions.set(sub.name, sub);
  }
  return t;
}
