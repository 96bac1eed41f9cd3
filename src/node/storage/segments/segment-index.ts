/**
 * Where each stored entry lies: for the contiguous run of indexes [first, last], the
 * segment, byte offset and record length of each, and its term (the core asks for
 * terms far more often than for entries, and this answers without a read).
 * Compact typed arrays, 16 bytes per entry (plus the slack of the last growth, none
 * after open: see trim()), instead of an object per entry; terms are kept as runs (the
 * first index of each term), as a term spans many entries.
 */
export class SegmentIndex {
  /** The index held in slot `head`. */
  private base: number;
  private head = 0;
  private count = 0;
  private seqs = new Uint32Array(1024);
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  /** Term runs, oldest first: runTerms[k] from index runStarts[k] on (until the next run). */
  private runStarts: number[] = [];
  private runTerms: number[] = [];

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

  /** Bytes of memory the index holds (its arrays). */
  get memoryBytes(): number {
    return this.seqs.byteLength + this.offsets.byteLength + this.lengths.byteLength + this.runStarts.length * 16;
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
    this.slot(index);
    const starts = this.runStarts;
    // The newest runs are asked most: check the last before searching.
    let k = starts.length - 1;
    if (starts[k] > index) {
      let lo = 0;
      let hi = k - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= index) lo = mid;
        else hi = mid - 1;
      }
      k = lo;
    }
    return this.runTerms[k];
  }

  /** Appends `index`, which must be last + 1. */
  push(index: number, term: number, seq: number, offset: number, length: number): void {
    if (index !== this.base + this.count) throw new Error(`segment index: appending ${index} after ${this.last}`);
    if (this.head + this.count === this.seqs.length) this.grow();
    const at = this.head + this.count;
    this.seqs[at] = seq;
    this.offsets[at] = offset;
    this.lengths[at] = length;
    if (this.runTerms.length === 0 || this.runTerms[this.runTerms.length - 1] !== term) {
      this.runStarts.push(index);
      this.runTerms.push(term);
    }
    this.count++;
  }

  /** Forgets `index` and everything after it (a replaced suffix). */
  truncateFrom(index: number): void {
    if (index <= this.base) this.count = 0;
    else if (index <= this.last) this.count = index - this.base;
    this.dropRunsFrom(this.base + this.count);
  }

  /** Forgets everything below `index`; an index past the end leaves it empty, next `index`. */
  dropBelow(index: number): void {
    if (index <= this.base) return;
    if (index > this.last) {
      this.base = index;
      this.head = 0;
      this.count = 0;
      this.runStarts = [];
      this.runTerms = [];
      return;
    }
    const n = index - this.base;
    this.head += n;
    this.count -= n;
    this.base = index;
    // Runs that end below the new first index go.
    let k = 0;
    while (k + 1 < this.runStarts.length && this.runStarts[k + 1] <= index) k++;
    if (k > 0) {
      this.runStarts.splice(0, k);
      this.runTerms.splice(0, k);
    }
  }

  /** Empties the index; the next entry appended is `first`. */
  reset(first: number): void {
    this.base = first;
    this.head = 0;
    this.count = 0;
    this.runStarts = [];
    this.runTerms = [];
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
    this.runStarts = [...other.runStarts];
    this.runTerms = [...other.runTerms];
    this.base = other.base;
    this.head = 0;
    this.count = n;
  }

  /** Gives back the room beyond what is held (after open: the index then grows by appends
   *  only, a backlog's worth of it need not carry a doubling's slack). */
  trim(): void {
    const capacity = Math.max(1024, this.count);
    if (capacity >= this.seqs.length && this.head === 0) return;
    const cut = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(this.head, this.head + this.count), 0);
      return next;
    };
    this.seqs = cut(this.seqs, (n) => new Uint32Array(n));
    this.offsets = cut(this.offsets, (n) => new Float64Array(n));
    this.lengths = cut(this.lengths, (n) => new Uint32Array(n));
    this.head = 0;
  }

  private dropRunsFrom(index: number): void {
    let n = this.runStarts.length;
    while (n > 0 && this.runStarts[n - 1] >= index) n--;
    this.runStarts.length = n;
    this.runTerms.length = n;
  }

  private slot(index: number): number {
    if (!this.has(index)) throw new RangeError(`segment index: ${index} is outside [${this.base}, ${this.last}]`);
    return this.head + index - this.base;
  }

  /** Makes room at the end: slides the live run to the front, growing by half when it is
   *  over half full (a doubling would leave up to twice the memory of a large backlog). */
  private grow(): void {
    const capacity = this.count * 2 > this.seqs.length ? Math.ceil(this.seqs.length * 1.5) : this.seqs.length;
    const move = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = capacity === old.length ? old : make(capacity);
      next.set(old.subarray(this.head, this.head + this.count), 0);
      return next;
    };
    this.seqs = move(this.seqs, (n) => new Uint32Array(n));
    this.offsets = move(this.offsets, (n) => new Float64Array(n));
    this.lengths = move(this.lengths, (n) => new Uint32Array(n));
    this.head = 0;
  }
}
