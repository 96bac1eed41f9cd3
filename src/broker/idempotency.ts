import type { CommandType } from './commands.js';
import type { CommandResult } from './results.js';

/** A result as a record keeps it. */
export function storedResult(result: CommandResult, replayOf: CommandType): StoredAnswer {
  return { kind: 'result', json: JSON.stringify(result), replayOf };
}

/** The result a record replays (its JSON parsed: the same a restored replica gives). */
export function replayedResult(a: Extract<StoredAnswer, { kind: 'result' }>): CommandResult {
  return JSON.parse(a.json) as CommandResult;
}

/** docs/API.md, Idempotency: an Idempotency-Key is honoured for ten minutes of replicated time. */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60_000;

/** Which queue or subscription a receive leased from; `uid` tells a recreated one apart. */
export type ChannelAddress =
  | { kind: 'queue'; queue: string; uid: number }
  | { kind: 'sub'; topic: string; subscription: string; uid: number };

/**
 * What a key answers again. Most answers are kept as they were (they are small: ids,
 * views, errors), as their JSON: what the record counts for, what a snapshot writes and
 * what a replay parses, so a snapshot of many records stringifies none of them again. A successful receive is kept by reference — where it leased from and
 * the receipt handles — and rendered again from the state when replayed, so neither
 * memory nor snapshots ever hold a copy of a body (README, Idempotency).
 */
export type StoredAnswer =
  | { kind: 'result'; json: string; replayOf: CommandType }
  | { kind: 'receive'; replayOf: CommandType; from: ChannelAddress; receipts: string[] };

interface Entry {
  owner: string;
  answer: StoredAnswer;
  at: number;
  bytes: number;
}

interface OwnerBook {
  /** Keys of this owner's entries, oldest first. */
  keys: Set<string>;
  bytes: number;
}

/** Per-owner ceilings (quotas.ts): past either, the owner's oldest records go. */
export interface CacheBounds {
  records: number;
  bytes: number;
}

/** Fixed cost counted for every record on top of its strings: the Map and Set slots,
 *  the entry object, the time. */
const RECORD_OVERHEAD_BYTES = 96;

/**
 * The idempotency records of every user, bounded per user in number and in bytes, each
 * kept for IDEMPOTENCY_WINDOW_MS. Insertion order is time order (time never moves back),
 * so expiry and eviction both look at the oldest entries only.
 */
export class IdempotencyCache {
  /** `${owner}\n${key}` -> entry, oldest first. */
  private readonly entries = new Map<string, Entry>();
  private readonly owners = new Map<string, OwnerBook>();

  get size(): number {
    return this.entries.size;
  }

  get(owner: string, key: string, now: number): StoredAnswer | undefined {
    const e = this.entries.get(slot(owner, key));
    return e !== undefined && now - e.at < IDEMPOTENCY_WINDOW_MS ? e.answer : undefined;
  }

  /** Stores an answer, then evicts the owner's oldest records until both bounds hold.
   *  A record larger than the byte bound on its own is not kept. */
  set(owner: string, key: string, answer: StoredAnswer, now: number, bounds: CacheBounds): void {
    const k = slot(owner, key);
    this.delete(k);
    const bytes = answerBytes(k, answer);
    if (bytes > bounds.bytes) return;
    this.add(k, { owner, answer, at: now, bytes });
    const book = this.owners.get(owner) as OwnerBook;
    while (book.keys.size > bounds.records || book.bytes > bounds.bytes) {
      this.delete(book.keys.values().next().value as string);
    }
  }

  /** Drops entries whose window has passed. */
  expire(now: number): void {
    for (const [k, e] of this.entries) {
      if (now - e.at < IDEMPOTENCY_WINDOW_MS) break;
      this.delete(k);
    }
  }

  /** Records and counted bytes one owner holds. */
  usage(owner: string): { records: number; bytes: number } {
    const book = this.owners.get(owner);
    return { records: book?.keys.size ?? 0, bytes: book?.bytes ?? 0 };
  }

  /** Oldest first, for snapshots: [owner, key, answer, at]. */
  *stamped(): IterableIterator<[string, string, StoredAnswer, number]> {
    for (const [k, e] of this.entries) yield [e.owner, k.slice(e.owner.length + 1), e.answer, e.at];
  }

  /** Restores an entry (in the order `stamped()` produced them). */
  load(owner: string, key: string, answer: StoredAnswer, at: number): void {
    const k = slot(owner, key);
    this.add(k, { owner, answer, at, bytes: answerBytes(k, answer) });
  }

  private add(k: string, e: Entry): void {
    this.entries.set(k, e);
    let book = this.owners.get(e.owner);
    if (book === undefined) {
      book = { keys: new Set(), bytes: 0 };
      this.owners.set(e.owner, book);
    }
    book.keys.add(k);
    book.bytes += e.bytes;
  }

  private delete(k: string): void {
    const e = this.entries.get(k);
    if (e === undefined) return;
    this.entries.delete(k);
    const book = this.owners.get(e.owner) as OwnerBook;
    book.keys.delete(k);
    book.bytes -= e.bytes;
    if (book.keys.size === 0) this.owners.delete(e.owner);
  }
}

function slot(owner: string, key: string): string {
  return `${owner}\n${key}`;
}

/** What a record counts for: its strings (UTF-16 length: keys and receipts are ASCII,
 *  stored answers JSON) plus a fixed overhead. Deterministic, so every replica evicts
 *  the same records. */
function answerBytes(slotKey: string, a: StoredAnswer): number {
  let n = RECORD_OVERHEAD_BYTES + slotKey.length;
  if (a.kind === 'result') return n + a.json.length;
  n += a.from.kind === 'queue' ? a.from.queue.length : a.from.topic.length + a.from.subscription.length;
  for (const r of a.receipts) n += r.length + 16;
  return n;
}
