/**
 * Where each stored entry lies: for the contiguous run of indexes [first, last], the
 * segment, byte offset and record length of each, and its term (the core asks for
 * terms far more often than for entries, and this answers without a read).
 * Compact typed arrays, about 28 bytes per entry, instead of an object per entry.
 */
export class SegmentIndex {
  /** The index held in slot `head`. */
  private base: number;
  private head = 0;
  private count = 0;
  private seqs = new Uint32Array(1024);
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  private terms = new Float64Array(1024);

  /** An empty index whose next entry is `first`. */
  constructor(first: number) {
    this.base = first;
  }

  /** The first index held (or the next one to append when empty). */
  get first(): number {
    return this.base;
  }

  /** The last index held (first - 1 when empty). */
  get last(): number {
    return this.base + this.count - 1;
  }

  get size(): number {
    return this.count;
  }

  has(index: number): boolean {
    return index >= this.base && index < this.base + this.count;
  }

  seqOf(index: number): number {
    return this.seqs[this.slot(index)];
  }

  offsetOf(index: number): number {
    return this.offsets[this.slot(index)];
  }

  lengthOf(index: number): number {
    return this.lengths[this.slot(index)];
  }

  termOf(index: number): number {
    return this.terms[this.slot(index)];
  }

  /** Appends `index`, which must be last + 1. */
  push(index: number, term: number, seq: number, offset: number, length: number): void {
    if (index !== this.base + this.count) throw new Error(`segment index: appending ${index} after ${this.last}`);
    if (this.head + this.count === this.seqs.length) this.grow();
    const at = this.head + this.count;
    this.seqs[at] = seq;
    this.offsets[at] = offset;
    this.lengths[at] = length;
    this.terms[at] = term;
    this.count++;
  }

  /** Forgets `index` and everything after it (a replaced suffix). */
  truncateFrom(index: number): void {
    if (index <= this.base) this.count = 0;
    else if (index <= this.last) this.count = index - this.base;
  }

  /** Forgets everything below `index`; an index past the end leaves it empty, next `index`. */
  dropBelow(index: number): void {
    if (index <= this.base) return;
    if (index > this.last) {
      this.base = index;
      this.head = 0;
      this.count = 0;
      return;
    }
    const n = index - this.base;
    this.head += n;
    this.count -= n;
    this.base = index;
  }

  /** Empties the index; the next entry appended is `first`. */
  reset(first: number): void {
    this.base = first;
    this.head = 0;
    this.count = 0;
  }

  /** Becomes a copy of `other`, every entry placed in segment `seq` (an adopted file). */
  adoptFrom(other: SegmentIndex, seq: number): void {
    const n = other.count;
    const from = other.head;
    const capacity = Math.max(1024, n);
    this.seqs = new Uint32Array(capacity).fill(seq, 0, n);
    this.offsets = new Float64Array(capacity);
    this.offsets.set(other.offsets.subarray(from, from + n));
    this.lengths = new Uint32Array(capacity);
    this.lengths.set(other.lengths.subarray(from, from + n));
    this.terms = new Float64Array(capacity);
    this.terms.set(other.terms.subarray(from, from + n));
    this.base = other.base;
    this.head = 0;
    this.count = n;
  }

  private slot(index: number): number {
    if (!this.has(index)) throw new RangeError(`segment index: ${index} is outside [${this.base}, ${this.last}]`);
    return this.head + index - this.base;
  }

  /** Makes room at the end: slides the live run to the front, doubling when it is over half full. */
  private grow(): void {
    const capacity = this.count * 2 > this.seqs.length ? this.seqs.length * 2 : this.seqs.length;
    const move = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = capacity === old.length ? old : make(capacity);
      next.set(old.subarray(this.head, this.head + this.count), 0);
      return next;
    };
    this.seqs = move(this.seqs, (n) => new Uint32Array(n));
    this.offsets = move(this.offsets, (n) => new Float64Array(n));
    this.lengths = move(this.lengths, (n) => new Uint32Array(n));
    this.terms = move(this.terms, (n) => new Float64Array(n));
    this.head = 0;
  }
}
