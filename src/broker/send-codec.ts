import { BinaryReader, BinaryWriter } from './binary.js';
import { isWellFormed } from './limits.js';

/**
 * A compact binary form for the hot commands, queue.send and topic.publish: their
 * bodies are copied as UTF-8 instead of going through JSON.stringify/parse, which costs
 * several times more for kilobyte bodies. The first byte tells it apart from JSON
 * (which starts with '{'). Decoding yields the plain object; validation stays with the
 * zod schemas, so both encodings accept exactly the same commands.
 */
export const BINARY_TAG = 0x01;
const SEND = 1;
const PUBLISH = 2;

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
}

/** The binary form, or undefined when the command is not one this form carries
 *  exactly (then the caller uses JSON, and validation decides as usual). */
export function encodeSendBinary(c: WireSend): Uint8Array | undefined {
  const kind = c.type === 'queue.send' ? SEND : c.type === 'topic.publish' ? PUBLISH : 0;
  if (kind === 0) return undefined;
  const target = kind === SEND ? c.queue : c.topic;
  if (!isText(c.user) || !isText(target) || typeof c.batch !== 'boolean' || !Array.isArray(c.messages)) return undefined;
  if (c.idempotencyKey !== undefined && !isText(c.idempotencyKey)) return undefined;
  const messages = c.messages as WireMessage[];
  for (const m of messages) {
    if (m === null || typeof m !== 'object' || !isText(m.body)) return undefined;
    if (m.delayMs !== undefined && !(Number.isSafeInteger(m.delayMs) && (m.delayMs as number) >= 0)) return undefined;
    if (m.deduplicationId !== undefined && !isText(m.deduplicationId)) return undefined;
    if (m.attributes !== undefined) {
      if (m.attributes === null || typeof m.attributes !== 'object' || Array.isArray(m.attributes)) return undefined;
      for (const [k, v] of Object.entries(m.attributes)) if (!isText(k) || !isText(v)) return undefined;
    }
  }
  const w = scratch;
  w.reset();
  w.u8(BINARY_TAG);
  w.u8(kind);
  w.str(c.user);
  w.str(target);
  w.bool(c.batch);
  w.bool(c.idempotencyKey !== undefined);
  if (c.idempotencyKey !== undefined) w.str(c.idempotencyKey);
  w.uint(messages.length);
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
  const out = w.bytes().slice();
  // A huge batch grew the scratch buffer: let that memory go.
  if (w.capacity > 4 * SCRATCH_BYTES) scratch = new BinaryWriter(SCRATCH_BYTES);
  return out;
}

/** The plain command object of a binary entry (not yet validated). */
export function decodeSendBinary(bytes: Uint8Array): unknown {
  const r = new BinaryReader(bytes);
  r.u8(); // tag
  const kind = r.u8();
  const user = r.str();
  const target = r.str();
  const batch = r.bool();
  const idempotencyKey = r.bool() ? r.str() : undefined;
  const n = r.uint();
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
    : { type: kind === PUBLISH ? 'topic.publish' : 'unknown', user, topic: target, messages, batch };
  if (idempotencyKey !== undefined) c.idempotencyKey = idempotencyKey;
  return c;
}

/** A string that survives UTF-8 unchanged (no lone surrogates). */
function isText(s: unknown): s is string {
  return typeof s === 'string' && isWellFormed(s);
}
