import { Message, type BodyLocation, type InlineBody } from './message.js';

/** Rows per chunk: ~150 KB of columns once full, freed whole. */
const CHUNK_ROWS = 4096;
/** A chunk starts this small and doubles as it fills: thousands of queues that hold a
 *  few messages each must not cost 150 KB apiece. */
const FIRST_CAPACITY = 16;

/** One chunk of rows, one typed array per field: 38 bytes a row, no object per message.
 *  Growing copies into new arrays and never changes a written row, so a FifoView that
 *  shares the chunk still reads the rows it covers. */
class Chunk {
  idIndex = new Float64Array(FIRST_CAPACITY);
  idPos = new Uint16Array(FIRST_CAPACITY);
  bytes = new Uint32Array(FIRST_CAPACITY);
  sentAt = new Float64Array(FIRST_CAPACITY);
  seq = new Float64Array(FIRST_CAPACITY);
  enqueuedAt = new Float64Array(FIRST_CAPACITY);

  /** Makes room for row `c` (< CHUNK_ROWS). */
  reserve(c: number): void {
    if (c < this.idIndex.length) return;
    const n = Math.min(CHUNK_ROWS, this.idIndex.length * 2);
    this.idIndex = grow(this.idIndex, new Float64Array(n));
    this.idPos = grow(this.idPos, new Uint16Array(n));
    this.bytes = grow(this.bytes, new Uint32Array(n));
    this.sentAt = grow(this.sentAt, new Float64Array(n));
    this.seq = grow(this.seq, new Float64Array(n));
    this.enqueuedAt = grow(this.enqueuedAt, new Float64Array(n));
  }
}

function grow<T extends Float64Array | Uint16Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Messages that were never delivered, in commit order: a queue's fresh FIFO and a
 * topic's log. Millions of them may wait, so they are stored column-wise in chunks of
 * typed arrays (38 bytes a message, README "Memory") and become Message objects
 * only when they are looked at (peek/at): when delivered, or when retention looks at
 * the head. Rows are addressed by an absolute row number that only grows, so a
 * capture (FifoView) stays valid while rows are pushed and shifted later: pushes write
 * past the capture's end, shifts only move the head and drop whole chunks from the live
 * array, not from the capture's copy of it.
 */
export class MessageFifo {
  private chunks: Chunk[] = [];
  /** Absolute row of chunks[0][0]. */
  private base = 0;
  /** Absolute rows of the head and one past the tail. */
  private first = 0;
  private end = 0;
  /** Bodies held in memory, by absolute row (restored from an older snapshot); rare. */
  private inline: Map<number, InlineBody> | null = null;
  /** Bodies a relocation moved out of their send's entry, by absolute row; rare, so no
   *  column costs every row for it. */
  private loc: Map<number, BodyLocation> | null = null;
  /** The last row turned into a Message: a receive peeks, then takes the same row. */
  private cachedRow = -1;
  private cached: Message | undefined;

  get length(): number {
    return this.end - this.first;
  }

  push(
    idIndex: number, idPos: number, bytes: number, sentAt: number, seq: number, enqueuedAt: number,
    inline: InlineBody | null = null, loc: BodyLocation | null = null,
  ): void {
    const k = this.end - this.base;
    const c = k % CHUNK_ROWS;
    if (c === 0 && k / CHUNK_ROWS === this.chunks.length) this.chunks.push(new Chunk());
    const chunk = this.chunks[(k - c) / CHUNK_ROWS];
    chunk.reserve(c);
    chunk.idIndex[c] = idIndex;
    chunk.idPos[c] = idPos;
    chunk.bytes[c] = bytes;
    chunk.sentAt[c] = sentAt;
    chunk.seq[c] = seq;
    chunk.enqueuedAt[c] = enqueuedAt;
    if (inline !== null) (this.inline ??= new Map()).set(this.end, inline);
    if (loc !== null) (this.loc ??= new Map()).set(this.end, loc);
    this.end++;
  }

  pushMessage(m: Message): void {
    this.push(m.idIndex, m.idPos, m.bytes, m.sentAt, m.seq, m.enqueuedAt, m.inline, m.loc);
  }

  peek(): Message | undefined {
    return this.at(0);
  }

  /** The i-th message from the head (0-based), as an object. */
  at(i: number): Message | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const row = this.first + i;
    if (row !== this.cachedRow) {
      this.cached = rowMessage(this.chunks, this.base, row, this.inline, this.loc);
      this.cachedRow = row;
    }
    return this.cached;
  }

  shift(): void {
    if (this.first === this.end) return;
    if (this.inline !== null && this.inline.delete(this.first) && this.inline.size === 0) this.inline = null;
    if (this.loc !== null && this.loc.delete(this.first) && this.loc.size === 0) this.loc = null;
    this.first++;
    if (this.first - this.base >= CHUNK_ROWS) {
      this.chunks.shift();
      this.base += CHUNK_ROWS;
    }
    if (this.first === this.end) this.clear();
  }

  clear(): void {
    this.chunks = [];
    this.first = this.end = this.base = 0;
    this.inline = null;
    this.loc = null;
    this.cachedRow = -1;
    this.cached = undefined;
  }

  /**
   * Gives every row whose body is at a location `moved` knows (its send's entry or an
   * earlier relocation) the new location `moved` returns, and calls `moved` once per
   * such row. Inline bodies are skipped. Scans the entry-index column, calling `moved`
   * only for rows in [lo, hi] (README, Relocation: the cost of a relocate entry).
   */
  relocate(lo: number, hi: number, moved: (index: number, pos: number) => BodyLocation | undefined): void {
    // Rows relocated before are looked up by their current location, not their column.
    const relocated = this.loc === null ? [] : [...this.loc];
    for (const [row, at] of relocated) {
      if (at.index < lo || at.index > hi || row < this.first) continue;
      const to = moved(at.index, at.pos);
      if (to !== undefined) this.setLoc(row, to);
    }
    for (let row = this.first; row < this.end;) {
      const k = row - this.base;
      const c0 = k % CHUNK_ROWS;
      const chunk = this.chunks[(k - c0) / CHUNK_ROWS];
      const n = Math.min(CHUNK_ROWS - c0, this.end - row);
      const idIndex = chunk.idIndex;
      for (let c = c0; c < c0 + n; c++) {
        const index = idIndex[c];
        if (index < lo || index > hi) continue;
        const r = row + c - c0;
        if (this.loc?.has(r) === true || this.inline?.has(r) === true) continue;
        const to = moved(index, chunk.idPos[c]);
        if (to !== undefined) this.setLoc(r, to);
      }
      row += n;
    }
  }

  private setLoc(row: number, to: BodyLocation): void {
    (this.loc ??= new Map()).set(row, to);
    if (row === this.cachedRow) this.cachedRow = -1;
  }

  /** The current rows, frozen: valid whatever is pushed or shifted later. */
  view(): FifoView {
    return new FifoView(
      this.chunks.slice(), this.base, this.first, this.end,
      this.inline === null ? null : new Map(this.inline), this.loc === null ? null : new Map(this.loc),
    );
  }
}

export type RowVisitor = (
  idIndex: number, idPos: number, bytes: number, sentAt: number, seq: number, enqueuedAt: number,
  inline: InlineBody | null, loc: BodyLocation | null,
) => void;

/** A frozen range of a MessageFifo's rows, read column-wise (snapshots, recounts). */
export class FifoView {
  constructor(
    private readonly chunks: readonly Chunk[],
    private readonly base: number,
    private readonly first: number,
    private readonly end: number,
    private readonly inline: ReadonlyMap<number, InlineBody> | null,
    private readonly loc: ReadonlyMap<number, BodyLocation> | null,
  ) {}

  get length(): number {
    return this.end - this.first;
  }

  /** Calls `f` with each row's fields, head first; `inline` is null for a body in the
   *  log, `loc` null for a body still in its send's entry. `from`/`to` (0-based, `to` exclusive) pick a slice of the rows. */
  forEach(f: RowVisitor, from = 0, to = this.length): void {
    for (let row = this.first + from; row < this.first + to; row++) {
      const k = row - this.base;
      const c = k % CHUNK_ROWS;
      const chunk = this.chunks[(k - c) / CHUNK_ROWS];
      f(chunk.idIndex[c], chunk.idPos[c], chunk.bytes[c], chunk.sentAt[c], chunk.seq[c], chunk.enqueuedAt[c], this.inline?.get(row) ?? null, this.loc?.get(row) ?? null);
    }
  }

  /** Every row as an object, head first. */
  messages(): Message[] {
    const out: Message[] = [];
    for (let row = this.first; row < this.end; row++) out.push(rowMessage(this.chunks, this.base, row, this.inline, this.loc));
    return out;
  }
}

function rowMessage(
  chunks: readonly Chunk[], base: number, row: number,
  inline: ReadonlyMap<number, InlineBody> | null, loc: ReadonlyMap<number, BodyLocation> | null,
): Message {
  const k = row - base;
  const c = k % CHUNK_ROWS;
  const chunk = chunks[(k - c) / CHUNK_ROWS];
  return new Message(chunk.idIndex[c], chunk.idPos[c], chunk.bytes[c], chunk.sentAt[c], chunk.seq[c], chunk.enqueuedAt[c], inline?.get(row) ?? null, loc?.get(row) ?? null);
}
