import { BinaryReader, BinaryWriter, STR_LENGTH_BYTES, writeStrLength } from './binary.js';
import type { Command, CommandOf, ProducerFrames } from './commands.js';
import { BrokerError } from './errors.js';

/**
 * A compact binary form for the hot commands, queue.send and topic.publish: their
 * bodies are copied as UTF-8 instead of going through JSON.stringify/parse, which costs
 * several times more for kilobyte bodies. The first byte tells it apart from JSON
 * (which starts with '{') and says whether the command was validated before it was
 * written (commands.ts, "validated once").
 */
/** Written by earlier versions, before validation: decoded, then judged by the schema. */
export const UNVALIDATED_SEND_TAG = 0x01;
/** Written now, of commands the proposing node validated: decoded and applied as is. */
export const VALIDATED_SEND_TAG = 0x02;
const SEND = 1;
const PUBLISH = 2;
/** messages.relocate (relocate.ts): the same message layout, so that its bodies are
 *  read exactly like a send's (binaryBodies). */
export const RELOCATE_KIND = 3;

/** Encoding goes through one reused buffer and is copied out once: allocating big
 *  ArrayBuffers costs more than the encoding itself. */
const SCRATCH_BYTES = 1 << 20;
let scratch = new BinaryWriter(SCRATCH_BYTES);

interface WireMessage {
  body: unknown;
  attributes?: unknown;
  delayMs?: unknown;
  deduplicationId?: unknown;
}

interface WireSend {
  type: string;
  user?: unknown;
  queue?: unknown;
  topic?: unknown;
  messages?: unknown;
  batch?: unknown;
  idempotencyKey?: unknown;
  producer?: unknown;
}

/** The header's option bits (one byte; entries of earlier versions wrote 0 or 1 there,
 *  a boolean for the key). */
const HAS_KEY = 1;
const HAS_PRODUCER = 2;

/** The binary form (VALIDATED_SEND_TAG) of a send or publish the caller validated with
 *  its schema (so every string is well-formed and every number a safe integer), or
 *  undefined for any other command; `headroom` bytes of zeros ahead of it
 *  (encodeCommand). */
export function encodeSendBinary(c: Command, headroom = 0): Uint8Array | undefined {
  if (c.type !== 'queue.send' && c.type !== 'topic.publish') return undefined;
  const messages: WireMessage[] = c.messages;
  const w = scratch;
  writeHead(w, c, messages.length, headroom);
  for (const m of messages) {
    w.str(m.body as string);
    const flags = (m.attributes !== undefined ? 1 : 0) | (m.delayMs !== undefined ? 2 : 0) | (m.deduplicationId !== undefined ? 4 : 0);
    w.u8(flags);
    if (m.attributes !== undefined) {
      const entries = Object.entries(m.attributes as Record<string, string>);
      w.uint(entries.length);
      for (const [k, v] of entries) {
        w.str(k);
        w.str(v);
      }
    }
    if (m.delayMs !== undefined) w.uint(m.delayMs as number);
    if (m.deduplicationId !== undefined) w.str(m.deduplicationId as string);
  }
  return takeScratch(w);
}

/** A send or publish without its messages: what comes ahead of them in the binary form. */
export type SendHead = Omit<CommandOf<'queue.send'>, 'messages'> | Omit<CommandOf<'topic.publish'>, 'messages'>;

/**
 * The binary form of a send or publish of body-only messages whose bodies are given as
 * UTF-8 ranges of `source` (`spans` holds start and end of each): byte for byte what
 * encodeSendBinary writes for the same command with those bodies as strings, without
 * the strings ever being made. The caller vouches for what the schema would check: a
 * valid head (isValidSendHead) and well-formed UTF-8 in every range.
 */
export function encodeBodySpansBinary(head: SendHead, source: Uint8Array, spans: ArrayLike<number>, headroom = 0): Uint8Array {
  const w = scratch;
  writeHead(w, head, spans.length / 2, headroom);
  const headBytes = w.bytes();
  // Each body as BinaryWriter.str writes it, then a zero byte of flags (no attributes,
  // delay or deduplication id). Written straight into a buffer of the exact size: the
  // bodies are copied once.
  let size = headBytes.length;
  for (let k = 0; k < spans.length; k += 2) size += STR_LENGTH_BYTES + (spans[k + 1] - spans[k]) + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(headBytes);
  let at = headBytes.length;
  for (let k = 0; k < spans.length; k += 2) {
    const length = spans[k + 1] - spans[k];
    writeStrLength(view, at, length);
    out.set(source.subarray(spans[k], spans[k + 1]), at + STR_LENGTH_BYTES);
    at += STR_LENGTH_BYTES + length + 1;
  }
  return out;
}

function writeHead(w: BinaryWriter, c: SendHead, count: number, headroom: number): void {
  w.reset();
  w.zeros(headroom);
  w.u8(VALIDATED_SEND_TAG);
  w.u8(c.type === 'queue.send' ? SEND : PUBLISH);
  w.str(c.user);
  w.str(c.type === 'queue.send' ? c.queue : c.topic);
  w.bool(c.batch);
  w.u8((c.idempotencyKey !== undefined ? HAS_KEY : 0) | (c.producer !== undefined ? HAS_PRODUCER : 0));
  if (c.idempotencyKey !== undefined) w.str(c.idempotencyKey);
  if (c.producer !== undefined) writeProducer(w, c.producer);
  w.uint(count);
}

function takeScratch(w: BinaryWriter): Uint8Array {
  const out = w.bytes().slice();
  // A huge batch grew the scratch buffer: let that memory go.
  if (w.capacity > 4 * SCRATCH_BYTES) scratch = new BinaryWriter(SCRATCH_BYTES);
  return out;
}

function writeProducer(w: BinaryWriter, p: ProducerFrames): void {
  w.str(p.id);
  w.uint(p.frames.length);
  for (const f of p.frames) {
    w.uint(f.seq);
    w.uint(f.count);
  }
}

function readProducer(r: BinaryReader): ProducerFrames {
  const id = r.str();
  const frames = new Array<ProducerFrames['frames'][number]>(r.uint());
  for (let i = 0; i < frames.length; i++) frames[i] = { seq: r.uint(), count: r.uint() };
  return { id, frames };
}

/** What every binary entry starts with (sends, publishes and relocates share it). */
interface BinaryHeader {
  kind: number;
  user: string;
  target: string;
  batch: boolean;
  idempotencyKey: string | undefined;
  producer: ProducerFrames | undefined;
  /** Messages that follow. */
  count: number;
}

/** Reads the header of a binary entry, leaving the reader at its first message. */
function readBinaryHeader(r: BinaryReader): BinaryHeader {
  r.u8(); // tag
  const kind = r.u8();
  const user = r.str();
  const target = r.str();
  const batch = r.bool();
  const options = r.u8();
  const idempotencyKey = options & HAS_KEY ? r.str() : undefined;
  const producer = options & HAS_PRODUCER ? readProducer(r) : undefined;
  return { kind, user, target, batch, idempotencyKey, producer, count: r.uint() };
}

/** Steps over the header without building its strings (the answer path reads only
 *  bodies); returns the number of messages that follow. */
export function skipBinaryHeader(r: BinaryReader): number {
  r.u8(); // tag
  r.u8(); // kind
  r.skipStr();
  r.skipStr();
  r.bool();
  const options = r.u8();
  if (options & HAS_KEY) r.skipStr();
  if (options & HAS_PRODUCER) readProducer(r);
  return r.uint();
}

/** The header of a send or publish (a relocate is not a command a client sent). */
function readSendHeader(r: BinaryReader): BinaryHeader {
  const h = readBinaryHeader(r);
  if (h.kind !== SEND && h.kind !== PUBLISH) throw new BrokerError('validation_failed', `unknown binary command kind ${h.kind}`);
  return h;
}

/** Steps over a message's attributes (their count, then names and values). */
export function skipAttributes(r: BinaryReader): void {
  for (let k = 2 * r.uint(); k > 0; k--) r.skipStr();
}

/** The plain command object of a binary entry (either tag; the layout is the same). */
export function decodeSendBinary(bytes: Uint8Array): unknown {
  const r = new BinaryReader(bytes);
  const { kind, user, target, batch, idempotencyKey, producer, count: n } = readSendHeader(r);
  const messages: WireMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m: WireMessage = { body: r.str() };
    const flags = r.u8();
    if (flags & 1) {
      const attributes: Record<string, string> = {};
      for (let k = r.uint(); k > 0; k--) {
        const key = r.str();
        Object.defineProperty(attributes, key, { value: r.str(), enumerable: true, writable: true, configurable: true });
      }
      m.attributes = attributes;
    }
    if (flags & 2) m.delayMs = r.uint();
    if (flags & 4) m.deduplicationId = r.str();
    messages.push(m);
  }
  const c: WireSend = kind === SEND
    ? { type: 'queue.send', user, queue: target, messages, batch }
    : { type: 'topic.publish', user, topic: target, messages, batch };
  if (idempotencyKey !== undefined) c.idempotencyKey = idempotencyKey;
  if (producer !== undefined) c.producer = producer;
  return c;
}

/** What apply keeps of one sent message: its size and what decides its fate. The body
 *  and attributes stay in the log entry (README, Where bodies live). */
export interface MessageMeta {
  /** messageBytes: body plus attribute names and values, in UTF-8. */
  bytes: number;
  delayMs?: number;
  deduplicationId?: string;
}

/** A send or publish as apply sees it: the command without its bodies. */
export interface SendMeta {
  type: 'queue.send';
  user: string;
  queue: string;
  batch: boolean;
  idempotencyKey?: string;
  producer?: ProducerFrames;
  messages: MessageMeta[];
}

export interface PublishMeta {
  type: 'topic.publish';
  user: string;
  topic: string;
  batch: boolean;
  idempotencyKey?: string;
  producer?: ProducerFrames;
  messages: MessageMeta[];
}

/**
 * A validated binary send or publish without building a single body string: lengths
 * are read from the prefixes (UTF-8 bytes: what quotas count) and the bytes skipped.
 * Followers apply sends at the cost of a scan instead of a UTF-8 decode per body.
 */
export function decodeSendMeta(bytes: Uint8Array): SendMeta | PublishMeta {
  const r = new BinaryReader(bytes);
  const { kind, user, target, batch, idempotencyKey, producer, count: n } = readSendHeader(r);
  const messages: MessageMeta[] = new Array<MessageMeta>(n);
  for (let i = 0; i < n; i++) {
    let size = r.skipStr();
    const flags = r.u8();
    if (flags & 1) for (let k = r.uint(); k > 0; k--) size += r.skipStr() + r.skipStr();
    const m: MessageMeta = { bytes: size };
    if (flags & 2) m.delayMs = r.uint();
    if (flags & 4) m.deduplicationId = r.str();
    messages[i] = m;
  }
  const c: SendMeta | PublishMeta = kind === SEND
    ? { type: 'queue.send', user, queue: target, batch, messages }
    : { type: 'topic.publish', user, topic: target, batch, messages };
  if (idempotencyKey !== undefined) c.idempotencyKey = idempotencyKey;
  if (producer !== undefined) c.producer = producer;
  return c;
}

/** Where each message of a binary send lies: its body's bytes, and its attributes'
 *  count (-1 without attributes), for reading one body without decoding the others. */
export interface BinaryBodies {
  bodyStart: Int32Array;
  bodyEnd: Int32Array;
  attributes: Int32Array;
}

export function binaryBodies(bytes: Uint8Array): BinaryBodies {
  const r = new BinaryReader(bytes);
  const n = skipBinaryHeader(r);
  const out: BinaryBodies = { bodyStart: new Int32Array(n), bodyEnd: new Int32Array(n), attributes: new Int32Array(n) };
  for (let i = 0; i < n; i++) {
    const len = r.skipStr();
    out.bodyEnd[i] = r.position;
    out.bodyStart[i] = r.position - len;
    const flags = r.u8();
    out.attributes[i] = flags & 1 ? r.position : -1;
    if (flags & 1) skipAttributes(r);
    if (flags & 2) r.uint();
    if (flags & 4) r.skipStr();
  }
  return out;
}

/** The attributes that start at `offset` (BinaryBodies.attributes). */
export function readBinaryAttributes(bytes: Uint8Array, offset: number): Record<string, string> {
  const r = new BinaryReader(bytes);
  r.seek(offset);
  const attributes: Record<string, string> = {};
  for (let k = r.uint(); k > 0; k--) {
    const key = r.str();
    Object.defineProperty(attributes, key, { value: r.str(), enumerable: true, writable: true, configurable: true });
  }
  return attributes;
}
