import { concatBytes } from '../bytes.js';
import { BinaryReader, BinaryWriter } from './binary.js';
import type { Channel } from './channel.js';
import { captureState, type DeliveriesCapture, type StateCapture } from './snapshot-capture.js';
import { BrokerError } from './errors.js';
import { messageBytes } from './limits.js';
import { Delivery, DeliveryState, Message, NO_ATTRIBUTES, storedAttributes, type BodyLocation, type InlineBody } from './message.js';
import type { FifoView, MessageFifo } from './message-fifo.js';
import { Queue } from './queue.js';
import { storedResult, type ChannelAddress, type StoredAnswer } from './idempotency.js';
import { ProducerWindow, type FrameAnswer } from './producers.js';
import { limitsSchema } from './quotas.js';
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
/** 2: receipt key and limits; idempotency records with their owner, receives by
 *  reference. 3: messages without bodies (those are in the log), fresh ones as
 *  delta-coded rows. 4: relocated messages carry their body's location. Version 1 and
 *  2 images still restore, bodies inline; version 3, with every body in its send's entry.
 *  5: stream producers' windows (README, Producers); older images restore without any. */
const VERSION = 5;
/** Rows of a fresh FIFO encoded between two checks of the chunk size. */
const ROWS_PER_STEP = 1024;

/** The whole image at once (what StateMachine.snapshot() returns). */
export function writeSnapshot(s: BrokerState): Uint8Array {
  const cap = captureState(s);
  const chunks = [...encodeCapture(cap, Infinity)];
  return concatBytes(chunks);
}

/**
 * Encodes a capture lazily, yielding chunks of about `chunkBytes`; their concatenation
 * is the image `writeSnapshot` makes. The capture shares only immutable data with the
 * live state, so the chunks may be pulled while later entries are applied.
 */
export function* encodeCapture(cap: StateCapture, chunkBytes: number): Generator<Uint8Array> {
  const w = new BinaryWriter(Number.isFinite(chunkBytes) ? chunkBytes + 64 * 1024 : estimateSize(cap));
  const full = () => w.size >= chunkBytes;
  w.uint(MAGIC);
  w.u8(VERSION);
  w.f64(cap.now);
  w.uint(cap.timerSeq);
  w.uint(cap.nextUid);
  w.uint(cap.lastIndex);
  w.str(cap.receiptKey);
  w.str(JSON.stringify(cap.limits));

  w.uint(cap.users.length);
  for (const [name, hash] of cap.users) {
    w.str(name);
    w.str(hash);
  }

  w.uint(cap.idempotency.length);
  for (const [owner, key, answer, at] of cap.idempotency) {
    w.str(owner);
    w.str(key);
    w.f64(at);
    writeAnswer(w, answer);
    if (full()) yield w.take();
  }

  w.uint(cap.producers.length);
  for (const p of cap.producers) {
    writeProducer(w, p);
    if (full()) yield w.take();
  }

  w.uint(cap.queues.length);
  for (const q of cap.queues) {
    const c = q.cfg;
    writeIdentity(w, c);
    w.uint(c.visibilityTimeoutMs);
    w.optUint(c.maxReceives);
    writeDeadLetter(w, c.deadLetter);
    w.uint(c.retentionMs);
    w.uint(q.nextSeq);
    writeGrants(w, q.grants);
    writeDedup(w, q.dedup);
    yield* writeRows(w, q.fresh, full);
    yield* writeDeliveries(w, q, (m) => writeMessage(w, m), full);
  }

  w.uint(cap.topics.length);
  for (const t of cap.topics) {
    const c = t.cfg;
    writeIdentity(w, c);
    w.bool(c.public);
    w.uint(c.retentionMs);
    w.uint(t.baseSeq);
    w.uint(t.nextSeq);
    writeGrants(w, t.grants);
    writeDedup(w, t.dedup);
    yield* writeRows(w, t.log, full);
    w.uint(t.detached.length);
    for (const m of t.detached) {
      writeMessage(w, m);
      if (full()) yield w.take();
    }
    w.uint(t.subscriptions.length);
    for (const sub of t.subscriptions) {
      const sc = sub.cfg;
      writeIdentity(w, sc);
      w.uint(sc.ackTimeoutMs);
      w.optUint(sc.maxDeliveries);
      writeDeadLetter(w, sc.deadLetter);
      w.uint(sub.cursor);
      yield* writeDeliveries(w, sub, (m) => w.uint(m.seq), full);
    }
  }
  yield w.take();
}

/** Sizing the buffer from the message count saves the doubling copies (bodies held
 *  inline, restored from older images, may still make it grow). */
function estimateSize(cap: StateCapture): number {
  let bytes = 64 * 1024;
  for (const q of cap.queues) bytes += q.fresh.length * 8 + (q.returned.length / 2 + (q.inflight.length + q.delayed.length) / 5) * 64;
  for (const t of cap.topics) {
    bytes += t.log.length * 8 + t.detached.length * 24;
    for (const sub of t.subscriptions) bytes += (sub.returned.length / 2 + (sub.inflight.length + sub.delayed.length) / 5) * 48;
  }
  return Math.min(2 ** 31, bytes);
}

export function readSnapshot(image: Uint8Array): BrokerState {
  const r = new BinaryReader(image);
  const magic = r.uint();
  const version = r.u8();
  if (magic !== MAGIC || (version < 1 || version > VERSION)) {
    throw new BrokerError('validation_failed', 'not a broker snapshot of a known version');
  }
  const s = new BrokerState();
  s.rt.now = r.f64();
  s.rt.timerSeq = r.uint();
  s.nextUid = r.uint();
  s.lastIndex = r.uint();
  if (version >= 2) {
    const key = r.str();
    if (key !== '') s.rt.installReceiptKey(key);
    s.limits = limitsSchema.parse(JSON.parse(r.str()));
  }

  for (let n = r.uint(); n > 0; n--) s.users.set(r.str(), r.str());
  if (version === 1) readIdempotencyV1(r, s);
  else {
    for (let n = r.uint(); n > 0; n--) {
      const owner = r.str();
      const key = r.str();
      const at = r.f64();
      s.idempotency.load(owner, key, readAnswer(r), at);
    }
  }
  if (version >= 5) for (let n = r.uint(); n > 0; n--) s.producers.load(readProducer(r));
  const msgs = version >= 4 ? MESSAGES_V4 : version === 3 ? MESSAGES_V3 : MESSAGES_V1;
  for (let n = r.uint(); n > 0; n--) {
    const q = readQueue(r, s, msgs);
    s.queues.set(q.name, q);
  }
  for (let n = r.uint(); n > 0; n--) {
    const t = readTopic(r, s, msgs);
    s.topics.set(t.name, t);
  }
  if (!r.done) throw new BrokerError('validation_failed', 'trailing bytes after the snapshot image');
  s.recountUsage();
  return s;
}

/** A producer and its held answers, newest sequence as the base of the others' deltas;
 *  the usual answer is (entry index, first position, count), any other its JSON. */
function writeProducer(w: BinaryWriter, p: ProducerWindow): void {
  w.str(p.owner);
  w.str(p.id);
  w.f64(p.lastUsed);
  w.num(p.highest);
  const held = p.held();
  w.uint(held.length);
  for (const h of held) {
    w.uint(p.highest - h.seq);
    w.uint(h.count);
    if (h.count > 0) {
      w.uint(h.index);
      w.uint(h.pos);
    } else w.str(JSON.stringify(h.other));
  }
}

function readProducer(r: BinaryReader): ProducerWindow {
  const p = new ProducerWindow(r.str(), r.str(), r.f64());
  p.highest = r.num();
  for (let n = r.uint(); n > 0; n--) {
    const seq = p.highest - r.uint();
    const count = r.uint();
    if (count > 0) p.load({ seq, count, index: r.uint(), pos: r.uint(), other: undefined });
    else p.load({ seq, count, index: 0, pos: 0, other: JSON.parse(r.str()) as FrameAnswer });
  }
  return p;
}

const ANSWER_RESULT = 0;
const ANSWER_RECEIVE = 1;

/** A receive answer by reference costs its receipts, never its bodies. */
function writeAnswer(w: BinaryWriter, a: StoredAnswer): void {
  if (a.kind === 'result') {
    w.u8(ANSWER_RESULT);
    w.str(a.replayOf);
    w.str(a.json);
    return;
  }
  w.u8(ANSWER_RECEIVE);
  w.str(a.replayOf);
  const f = a.from;
  w.bool(f.kind === 'queue');
  if (f.kind === 'queue') w.str(f.queue);
  else {
    w.str(f.topic);
    w.str(f.subscription);
  }
  w.uint(f.uid);
  w.uint(a.receipts.length);
  for (const receipt of a.receipts) w.str(receipt);
}

function readAnswer(r: BinaryReader): StoredAnswer {
  const kind = r.u8();
  const replayOf = r.str() as StoredAnswer['replayOf'];
  if (kind === ANSWER_RESULT) return { kind: 'result', replayOf, json: r.str() };
  if (kind !== ANSWER_RECEIVE) throw new BrokerError('validation_failed', `unknown idempotency answer kind ${kind}`);
  const from: ChannelAddress = r.bool()
    ? { kind: 'queue', queue: r.str(), uid: 0 }
    : { kind: 'sub', topic: r.str(), subscription: r.str(), uid: 0 };
  from.uid = r.uint();
  const receipts: string[] = [];
  for (let n = r.uint(); n > 0; n--) receipts.push(r.str());
  return { kind: 'receive', replayOf, from, receipts };
}

/**
 * Version 1 kept `${owner}\n${key}` -> the whole result, replayOf inside. Such records
 * are restored whole (receives with their bodies too) and expire within the ten-minute
 * window; images written from then on are version 2. Registers' records are dropped.
 */
function readIdempotencyV1(r: BinaryReader, s: BrokerState): void {
  for (let n = r.uint(); n > 0; n--) {
    const slot = r.str();
    const { replayOf, ...result } = JSON.parse(r.str()) as CommandResult & { replayOf: StoredAnswer['replayOf'] };
    const at = r.f64();
    // A register's record sat in the space of the user it named, where an anonymous
    // caller could plant it; registers keep no records now, so it is dropped.
    if (replayOf === 'user.register') continue;
    const cut = slot.indexOf('\n');
    s.idempotency.load(slot.slice(0, cut), slot.slice(cut + 1), storedResult(result, replayOf), at);
  }
}

/** How one image version writes messages: a delivery's message and a FIFO's rows. */
interface MessageCodec {
  message(r: BinaryReader): Message;
  rows(r: BinaryReader, into: MessageFifo): void;
}

/** Versions 1 and 2: bodies and attributes inline, every field whole. */
const MESSAGES_V1: MessageCodec = {
  message: readMessageV1,
  rows(r, into) {
    for (let n = r.uint(); n > 0; n--) into.pushMessage(readMessageV1(r));
  },
};

/** Version 3: the position's low bit marks an inline body. */
const MESSAGES_V3: MessageCodec = {
  message: (r) => readMessage(r, 1),
  rows: (r, into) => readRows(r, into, 1),
};

/** Version 4: and the next bit a relocated body, whose location follows. */
const MESSAGES_V4: MessageCodec = {
  message: (r) => readMessage(r, 2),
  rows: (r, into) => readRows(r, into, 2),
};

/** The position field of versions 4+: the position, then bits for an inline body (1)
 *  and a relocated one (2). */
function posField(idPos: number, inline: InlineBody | null, loc: BodyLocation | null): number {
  return idPos * 4 + (inline === null ? 0 : 1) + (loc === null ? 0 : 2);
}

function writeLocation(w: BinaryWriter, loc: BodyLocation): void {
  w.uint(loc.index);
  w.uint(loc.pos);
}

/** The inline body and the relocated location a position field of `flagBits` low
 *  bits announces, read in the order they were written. */
function readBodyPlace(r: BinaryReader, field: number, flagBits: number): { inline: InlineBody | null; loc: BodyLocation | null } {
  const inline = field % 2 === 1 ? readInline(r) : null;
  const loc = flagBits > 1 && (field & 2) !== 0 ? { index: r.uint(), pos: r.uint() } : null;
  return { inline, loc };
}

function readMessageV1(r: BinaryReader): Message {
  const idIndex = r.uint();
  const idPos = r.uint();
  const body = r.str();
  let attributes: Readonly<Record<string, string>> = NO_ATTRIBUTES;
  const n = r.uint();
  if (n > 0) {
    const read: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const key = r.str();
      Object.defineProperty(read, key, { value: r.str(), enumerable: true, writable: true, configurable: true });
    }
    attributes = storedAttributes(read);
  }
  const sentAt = r.f64();
  const seq = r.uint();
  const enqueuedAt = r.f64();
  // Such an image's entries may be gone from the log: the body stays in memory.
  return new Message(idIndex, idPos, messageBytes({ body, attributes }), sentAt, seq, enqueuedAt, { body, attributes });
}

/** A body held in memory (only messages restored from a version 1 or 2 image). */
function writeInline(w: BinaryWriter, b: InlineBody): void {
  w.str(b.body);
  const keys = Object.keys(b.attributes);
  w.uint(keys.length);
  for (const k of keys) {
    w.str(k);
    w.str(b.attributes[k]);
  }
}

function readInline(r: BinaryReader): InlineBody {
  const body = r.str();
  const n = r.uint();
  if (n === 0) return { body, attributes: NO_ATTRIBUTES };
  const read: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const key = r.str();
    Object.defineProperty(read, key, { value: r.str(), enumerable: true, writable: true, configurable: true });
  }
  return { body, attributes: storedAttributes(read) };
}

/** One message, every field whole (deliveries, detached topic messages). The body is
 *  where idIndex/idPos say, in the log; the low bit of the position marks an inline one. */
function writeMessage(w: BinaryWriter, m: Message): void {
  w.uint(m.idIndex);
  w.uint(posField(m.idPos, m.inline, m.loc));
  w.uint(m.bytes);
  w.num(m.sentAt);
  w.uint(m.seq);
  w.num(m.enqueuedAt - m.sentAt);
  if (m.inline !== null) writeInline(w, m.inline);
  if (m.loc !== null) writeLocation(w, m.loc);
}

/** `flagBits`: how many low bits of the position field are flags (1 in version 3). */
function readMessage(r: BinaryReader, flagBits: number): Message {
  const idIndex = r.uint();
  const pos = r.uint();
  const bytes = r.uint();
  const sentAt = r.num();
  const seq = r.uint();
  const enqueuedAt = sentAt + r.num();
  const { inline, loc } = readBodyPlace(r, pos, flagBits);
  return new Message(idIndex, Math.floor(pos / 2 ** flagBits), bytes, sentAt, seq, enqueuedAt, inline, loc);
}

/**
 * A FIFO of fresh messages as rows, each field a delta from the row before (entry
 * index, sequence, arrival time) or from another field (sentAt from the arrival): a
 * 1 KiB message of a batch costs about 7 bytes, and the image does not grow with bodies.
 */
function* writeRows(w: BinaryWriter, rows: FifoView, full: () => boolean): Generator<Uint8Array> {
  w.uint(rows.length);
  let index = 0;
  let seq = 0;
  let enq = 0;
  const row = (
    idIndex: number, idPos: number, bytes: number, sentAt: number, s: number, enqueuedAt: number,
    inline: InlineBody | null, loc: BodyLocation | null,
  ) => {
    w.num(idIndex - index);
    w.uint(posField(idPos, inline, loc));
    w.uint(bytes);
    w.num(s - seq);
    w.num(enqueuedAt - enq);
    w.num(enqueuedAt - sentAt);
    if (inline !== null) writeInline(w, inline);
    if (loc !== null) writeLocation(w, loc);
    index = idIndex;
    seq = s;
    enq = enqueuedAt;
  };
  for (let from = 0; from < rows.length; from += ROWS_PER_STEP) {
    rows.forEach(row, from, Math.min(rows.length, from + ROWS_PER_STEP));
    if (full()) yield w.take();
  }
}

function readRows(r: BinaryReader, into: MessageFifo, flagBits: number): void {
  let index = 0;
  let seq = 0;
  let enq = 0;
  for (let n = r.uint(); n > 0; n--) {
    index += r.num();
    const pos = r.uint();
    const bytes = r.uint();
    seq += r.num();
    enq += r.num();
    const sentAt = enq - r.num();
    const { inline, loc } = readBodyPlace(r, pos, flagBits);
    into.push(index, Math.floor(pos / 2 ** flagBits), bytes, sentAt, seq, enq, inline, loc);
  }
}

/** The identity of a queue, topic or subscription (BrokerState.newIdentity). */
function writeIdentity(w: BinaryWriter, c: { uid: number; name: string; owner: string; createdAt: number }): void {
  w.uint(c.uid);
  w.str(c.name);
  w.str(c.owner);
  w.f64(c.createdAt);
}

function readIdentity(r: BinaryReader): { uid: number; name: string; owner: string; createdAt: number } {
  // Object literal properties are evaluated in order: the fields read as written.
  return { uid: r.uint(), name: r.str(), owner: r.str(), createdAt: r.f64() };
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

function writeGrants(w: BinaryWriter, grants: [string, number][]): void {
  w.uint(grants.length);
  for (const [user, bits] of grants) {
    w.str(user);
    w.u8(bits);
  }
}

function readGrants(r: BinaryReader, grants: Map<string, number>): void {
  for (let n = r.uint(); n > 0; n--) grants.set(r.str(), r.u8());
}

function writeDedup(w: BinaryWriter, dedup: [string, string, number][]): void {
  w.uint(dedup.length);
  for (const [key, id, at] of dedup) {
    w.str(key);
    w.str(id);
    w.f64(at);
  }
}

function readDedup(r: BinaryReader, dedup: Queue['dedup']): void {
  for (let n = r.uint(); n > 0; n--) dedup.load(r.str(), r.str(), r.f64());
}

/** Deliveries of a channel (see DeliveriesCapture); `msg` writes the message (queues
 *  inline, subscriptions by topic sequence). */
function* writeDeliveries(
  w: BinaryWriter, d: DeliveriesCapture, msg: (m: Message) => void, full: () => boolean,
): Generator<Uint8Array> {
  w.uint(d.returned.length / 2);
  for (let k = 0; k < d.returned.length; k += 2) {
    msg(d.returned[k] as Message);
    w.uint(d.returned[k + 1] as number);
    if (full()) yield w.take();
  }
  for (const list of [d.inflight, d.delayed]) {
    w.uint(list.length / 5);
    for (let k = 0; k < list.length; k += 5) {
      msg(list[k] as Message);
      w.uint(list[k + 1] as number);
      w.str(list[k + 2] as string);
      w.f64(list[k + 3] as number);
      w.uint(list[k + 4] as number);
      if (full()) yield w.take();
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

function readQueue(r: BinaryReader, s: BrokerState, msgs: MessageCodec): Queue {
  const identity = readIdentity(r);
  const q = new Queue(s.rt, {
    ...identity,
    visibilityTimeoutMs: r.uint(),
    maxReceives: r.optUint(),
    deadLetter: readDeadLetter(r),
    retentionMs: r.uint(),
  }, s.usage.of(identity.owner));
  q.nextSeq = r.uint();
  readGrants(r, q.grants);
  readDedup(r, q.dedup);
  msgs.rows(r, q.fresh);
  readDeliveries(r, s, q, () => msgs.message(r));
  return q;
}

function readTopic(r: BinaryReader, s: BrokerState, msgs: MessageCodec): Topic {
  const identity = readIdentity(r);
  const t = new Topic(s.rt, {
    ...identity,
    public: r.bool(),
    retentionMs: r.uint(),
  }, s.usage.of(identity.owner));
  t.baseSeq = r.uint();
  t.nextSeq = r.uint();
  readGrants(r, t.grants);
  readDedup(r, t.dedup);
  msgs.rows(r, t.log);
  const detached = new Map<number, Message>();
  for (let n = r.uint(); n > 0; n--) {
    const m = msgs.message(r);
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
      ...readIdentity(r),
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
