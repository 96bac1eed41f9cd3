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

/** A body kept in memory: only messages restored from a snapshot of format 1 or 2,
 *  whose send entries the log may no longer hold (README, Where bodies live). */
export interface InlineBody {
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Where a relocated message's body is now: message `pos` of the `messages.relocate`
 *  entry at `index` (README, Relocation). Null for a body still in its send's entry. */
export interface BodyLocation {
  readonly index: number;
  readonly pos: number;
}

/**
 * A stored message: metadata only. The body and attributes stay in the Raft log, in the
 * entry of the send (or publish) at index `idIndex`, at position `idPos` of its batch;
 * the answering node reads them from there (Broker.answer). The id is derived from the
 * same pair. Queue messages belong to one queue; a topic message is stored once and
 * referenced by every subscription's deliveries.
 */
export class Message {
  constructor(
    readonly idIndex: number,
    readonly idPos: number,
    /** What the message counts for in queued-bytes limits: body plus attribute names
     *  and values, in UTF-8. */
    readonly bytes: number,
    /** When it was first sent (kept when it moves to a dead-letter queue). */
    readonly sentAt: number,
    /** Where it stands in its channel's commit order (queue sequence or topic sequence). */
    readonly seq: number,
    /** When it entered this queue; retention counts from here. */
    readonly enqueuedAt: number,
    /** The body in memory instead of in the log (restored from an older snapshot). */
    readonly inline: InlineBody | null = null,
    /** Where the body is when a relocation moved it out of the send's entry. */
    readonly loc: BodyLocation | null = null,
  ) {}

  /** The log entry that holds the body (and that this message pins). */
  get bodyIndex(): number {
    return this.loc === null ? this.idIndex : this.loc.index;
  }

  /** The body's position among that entry's messages. */
  get bodyPos(): number {
    return this.loc === null ? this.idPos : this.loc.pos;
  }

  /** The same message with its body at `loc` (messages are immutable: snapshot
   *  captures share them). */
  relocatedTo(loc: BodyLocation): Message {
    return new Message(this.idIndex, this.idPos, this.bytes, this.sentAt, this.seq, this.enqueuedAt, this.inline, loc);
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
    /** Replaced (never changed) when a relocation moves the body. */
    public msg: Message,
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
