import type { HeapItem } from './heap.js';

/** Shared by every message without attributes, so none pays for an empty object. */
export const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** What a message stores: NO_ATTRIBUTES when empty, else the object, frozen, because
 *  answers hand it out and nothing outside the broker may change stored state. */
export function storedAttributes(attrs: Record<string, string> | undefined): Readonly<Record<string, string>> {
  if (attrs === undefined) return NO_ATTRIBUTES;
  for (const _ in attrs) return Object.freeze(attrs);
  return NO_ATTRIBUTES;
}

/**
 * A stored message. Queue messages belong to one queue; a topic message is stored once
 * and referenced by every subscription's deliveries. The id is derived, not stored: it
 * is the log index of the send and the message's position in that send's batch.
 */
export class Message {
  /** What the message counts for in queued-bytes limits: body plus attribute names and
   *  values, in UTF-8. */
  readonly bytes: number;

  constructor(
    readonly idIndex: number,
    readonly idPos: number,
    readonly body: string,
    readonly attributes: Readonly<Record<string, string>>,
    /** When it was first sent (kept when it moves to a dead-letter queue). */
    readonly sentAt: number,
    /** Where it stands in its channel's commit order (queue sequence or topic sequence). */
    readonly seq: number,
    /** When it entered this queue; retention counts from here. */
    readonly enqueuedAt: number,
    /** messageBytes(body, attributes), when the caller already counted it. */
    bytes = messageBytes(body, attributes),
  ) {
    this.bytes = bytes;
  }

  get id(): string {
    return messageId(this.idIndex, this.idPos);
  }
}

export function messageId(index: number, pos: number): string {
  return messageIdPrefix(index) + pos.toString(36);
}

/** The part of the ids of one send that all its messages share. */
export function messageIdPrefix(index: number): string {
  return `${index.toString(36)}-`;
}

/** Body plus attribute names and values, in UTF-8 bytes. */
export function messageBytes(body: string, attributes: Readonly<Record<string, string>>): number {
  let n = Buffer.byteLength(body, 'utf8');
  for (const k in attributes) n += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(attributes[k], 'utf8');
  return n;
}

export const enum DeliveryState {
  /** Not visible before `visibleAt` (send delay or nack delay); in the timer heap. */
  Delayed = 0,
  /** Leased to a receiver until `visibleAt`; in the timer heap and the inflight map. */
  Inflight = 1,
  /** Ready again after a lease ended or a delay passed; in the channel's returned heap. */
  Returned = 2,
}

/** The delivery state of one message in one channel (queue or subscription). Fresh
 *  messages that were never delivered have none: they are just in the FIFO. */
export class Delivery implements HeapItem {
  heapIndex = -1;
  receipt: string | null = null;
  visibleAt = 0;
  /** Tie-break in the timer heap, assigned from a replicated counter. */
  timerSeq = 0;
  state: DeliveryState = DeliveryState.Returned;

  constructor(
    readonly msg: Message,
    readonly channel: ChannelRef,
    public receiveCount: number,
  ) {}
}

/** What a Delivery needs to know of its channel (kept abstract to avoid an import cycle). */
export interface ChannelRef {
  readonly target: string;
  onTimer(delivery: Delivery): void;
}

let lastIsoMs = Number.NaN;
let lastIso = '';

/** ISO-8601 of a replicated time. Messages of one batch share their time, and
 *  Date#toISOString is slow enough to matter per message, so the last answer is kept. */
export function iso(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** UTF-8 length, counted only when the string could be over the limit. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

export function bodyTooLarge(body: string, maxBytes: number): boolean {
  // Every UTF-16 unit encodes to at most 3 bytes: most bodies need no count at all.
  if (body.length * 3 <= maxBytes) return false;
  if (body.length > maxBytes) return true;
  return utf8Length(body) > maxBytes;
}
