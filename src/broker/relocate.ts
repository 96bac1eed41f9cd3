import { BinaryReader, BinaryWriter } from './binary.js';
import { BrokerError } from './errors.js';
import type { BodyLocation } from './message.js';
import type { MessageFifo, RowVisitor } from './message-fifo.js';
import type { Channel } from './channel.js';
import { RELOCATE_KIND, skipAttributes, skipBinaryHeader, VALIDATED_SEND_TAG } from './send-codec.js';
import type { BrokerState } from './state.js';

/**
 * `messages.relocate` (README, Relocation): the leader copies the bodies of the oldest
 * live messages into a new entry, so that the log no longer has to keep their old
 * entries and every entry after them. Ids, order, leases and receive counts stay; only
 * where each body is read from (and the pin) moves.
 */

/** Messages one relocate entry carries at most (their position is a 16-bit column). */
export const MAX_RELOCATE_MESSAGES = 10_000;
/** Candidates taken from the head of each FIFO at most: old messages are at the heads
 *  (dead-lettered ones excepted, which come to the tail). */
export const CANDIDATE_ROWS_PER_FIFO = 1024;
/** Rows looked at from the head of each FIFO at most, to get past rows relocated
 *  already (their bodies are recent) and reach the next old ones. */
export const CANDIDATE_SCAN_ROWS = 64 * 1024;

/** One body to move: where it is now, and (for encoding) what it is. */
export interface RelocatedBody {
  index: number;
  pos: number;
  body: string;
  attributes: Readonly<Record<string, string>>;
}

/** A relocate as apply sees it: the current locations, in the order of the messages
 *  the entry carries (message k of the entry is the new body of moves[k]). */
export interface RelocateMeta {
  type: 'messages.relocate';
  moves: { index: number; pos: number }[];
}

export interface RelocateResult {
  /** Moves whose message was still live. */
  moved: number;
}

/** A live body the leader may move: its location and what it counts for. */
export interface RelocationCandidate {
  index: number;
  pos: number;
  bytes: number;
}

/**
 * The entry: the binary send layout (VALIDATED_SEND_TAG, kind RELOCATE_KIND, no user,
 * target or options), message k being the body and attributes of moves[k], followed by
 * the moves' (index, pos). A body reader parses message k of this entry as of a send.
 */
export function encodeRelocate(bodies: readonly RelocatedBody[]): Uint8Array {
  if (bodies.length === 0 || bodies.length > MAX_RELOCATE_MESSAGES) {
    throw new RangeError(`a relocate carries 1 to ${MAX_RELOCATE_MESSAGES} messages, not ${bodies.length}`);
  }
  const w = new BinaryWriter(64 * 1024);
  w.u8(VALIDATED_SEND_TAG);
  w.u8(RELOCATE_KIND);
  w.str('');
  w.str('');
  w.bool(false);
  w.bool(false);
  w.uint(bodies.length);
  for (const b of bodies) {
    w.str(b.body);
    const keys = Object.keys(b.attributes);
    w.u8(keys.length > 0 ? 1 : 0);
    if (keys.length > 0) {
      w.uint(keys.length);
      for (const k of keys) {
        w.str(k);
        w.str(b.attributes[k]);
      }
    }
  }
  for (const b of bodies) {
    w.uint(b.index);
    w.uint(b.pos);
  }
  return w.bytes().slice();
}

export function isRelocateEntry(bytes: Uint8Array): boolean {
  return bytes.length > 1 && bytes[0] === VALIDATED_SEND_TAG && bytes[1] === RELOCATE_KIND;
}

/** The moves of a relocate entry, skipping its bodies. */
export function decodeRelocate(bytes: Uint8Array): RelocateMeta {
  const r = new BinaryReader(bytes);
  const n = skipBinaryHeader(r);
  if (n === 0 || n > MAX_RELOCATE_MESSAGES) throw new BrokerError('validation_failed', `a relocate of ${n} messages`);
  for (let i = 0; i < n; i++) {
    r.skipStr();
    if (r.u8() & 1) skipAttributes(r);
  }
  const moves = new Array<{ index: number; pos: number }>(n);
  for (let i = 0; i < n; i++) moves[i] = { index: r.uint(), pos: r.uint() };
  return { type: 'messages.relocate', moves };
}

/** Keys a body location; positions are below 2^16 (MessageFifo's column). */
function key(index: number, pos: number): number {
  return index * 65536 + pos;
}

/**
 * Applies a relocate entry at log `index`: every holder of a live message whose body is
 * at moves[k] (a queue's FIFO row or delivery, a topic log's row, a subscription's
 * delivery, a dead-letter queue's copy) reads it from (index, k) from now on, and its pin
 * moves there. Bodies held inline are not in the log and are left alone. A move whose
 * message is gone is a no-op. Scans every FIFO's entry-index column and every delivery:
 * a tight loop of a few ns a row, once per relocate entry (README, Relocation).
 */
export function applyRelocate(s: BrokerState, c: RelocateMeta, index: number): RelocateResult {
  const to = new Map<number, BodyLocation>();
  let lo = Infinity;
  let hi = -Infinity;
  c.moves.forEach((m, k) => {
    to.set(key(m.index, m.pos), { index, pos: k });
    if (m.index < lo) lo = m.index;
    if (m.index > hi) hi = m.index;
  });
  const found = new Set<number>();
  const pins = s.rt.pins;
  const moved = (i: number, p: number): BodyLocation | undefined => {
    const k = key(i, p);
    const loc = to.get(k);
    if (loc === undefined) return undefined;
    pins.remove(i);
    pins.add(index);
    found.add(k);
    return loc;
  };
  const deliveries = (ch: Channel) => {
    for (const ds of [ch.returned.values(), ch.inflight.values(), ch.delayed]) {
      for (const d of ds) {
        if (d.msg.inline !== null || d.msg.bodyIndex < lo || d.msg.bodyIndex > hi) continue;
        const loc = moved(d.msg.bodyIndex, d.msg.bodyPos);
        if (loc !== undefined) d.msg = d.msg.relocatedTo(loc);
      }
    }
  };
  for (const q of s.queues.values()) {
    q.fresh.relocate(lo, hi, moved);
    deliveries(q);
  }
  for (const t of s.topics.values()) {
    t.log.relocate(lo, hi, moved);
    for (const sub of t.subscriptions.values()) deliveries(sub);
  }
  return { moved: found.size };
}

/**
 * The live bodies in the oldest log entries, oldest first, up to `maxBytes` of them (at
 * least one, at most MAX_RELOCATE_MESSAGES), each once (a topic message shared by
 * subscriptions, a dead-lettered copy), only those in entries below `below`. Looks at
 * the head of every queue FIFO and topic log (up to CANDIDATE_ROWS_PER_FIFO candidates
 * among its first CANDIDATE_SCAN_ROWS rows) and at every delivery (leased, returned,
 * delayed): no scan of whole backlogs.
 */
export function relocationCandidates(s: BrokerState, maxBytes: number, below: number): RelocationCandidate[] {
  const seen = new Map<number, RelocationCandidate>();
  /** Whether the body at (index, pos) is a candidate. */
  const offer = (index: number, pos: number, bytes: number): boolean => {
    if (index >= below) return false;
    const k = key(index, pos);
    if (!seen.has(k)) seen.set(k, { index, pos, bytes });
    return true;
  };
  const heads = (fifo: MessageFifo) => {
    const view = fifo.view();
    const end = Math.min(view.length, CANDIDATE_SCAN_ROWS);
    let offered = 0;
    const row: RowVisitor = (idIndex, idPos, bytes, _sentAt, _seq, _enq, inline, loc) => {
      if (inline === null && (loc === null ? offer(idIndex, idPos, bytes) : offer(loc.index, loc.pos, bytes))) offered++;
    };
    for (let from = 0; from < end && offered < CANDIDATE_ROWS_PER_FIFO; from += 256) view.forEach(row, from, Math.min(end, from + 256));
  };
  const deliveries = (ch: Channel) => {
    for (const ds of [ch.returned.values(), ch.inflight.values(), ch.delayed]) {
      for (const d of ds) if (d.msg.inline === null) offer(d.msg.bodyIndex, d.msg.bodyPos, d.msg.bytes);
    }
  };
  for (const q of s.queues.values()) {
    heads(q.fresh);
    deliveries(q);
  }
  for (const t of s.topics.values()) {
    heads(t.log);
    for (const sub of t.subscriptions.values()) deliveries(sub);
  }
  const all = [...seen.values()].sort((a, b) => a.index - b.index || a.pos - b.pos);
  const out: RelocationCandidate[] = [];
  let bytes = 0;
  for (const c of all) {
    if (out.length > 0 && (bytes + c.bytes > maxBytes || out.length >= MAX_RELOCATE_MESSAGES)) break;
    out.push(c);
    bytes += c.bytes;
  }
  return out;
}
