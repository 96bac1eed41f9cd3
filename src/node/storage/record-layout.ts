import type { SegmentLog } from './segments/segment-log.js';

/** Entries between two checkpoints of a layout: a read walks at most this many lengths. */
const STEP = 1024;

/**
 * The records of the entries [first, last] laid back to back, as a snapshot stream
 * carries them, and reads of any byte range of that. Offsets are kept for every
 * STEP-th entry only (8 bytes per 1024 entries), so that a stream of millions of
 * entries costs kilobytes, not an offset per entry.
 */
export class RecordLayout {
  /** Byte offset of entry first + k * STEP. */
  private readonly checkpoints: Float64Array;
  readonly bytes: number;

  constructor(
    private readonly segments: SegmentLog,
    readonly first: number,
    readonly last: number,
  ) {
    const count = Math.max(0, last - first + 1);
    this.checkpoints = new Float64Array(Math.ceil(count / STEP) + 1);
    let bytes = 0;
    for (let k = 0; k < count; k++) {
      if (k % STEP === 0) this.checkpoints[k / STEP] = bytes;
      bytes += segments.recordBytesOf(first + k);
    }
    this.bytes = bytes;
  }

  /** `length` bytes of the records from `offset` (fewer at the end). */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.bytes, offset + length);
    if (offset >= end) return new Uint8Array(0);
    // The checkpoint at or before `offset`, then entry by entry to the one holding it.
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (mid * STEP < this.last - this.first + 1 && this.checkpoints[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    let i = this.first + lo * STEP;
    let at = this.checkpoints[lo];
    while (at + this.segments.recordBytesOf(i) <= offset) at += this.segments.recordBytesOf(i++);
    let j = i;
    let to = at;
    while (to < end) to += this.segments.recordBytesOf(j++);
    const records = this.segments.readRecords(i, j);
    return records.subarray(offset - at, end - at);
  }
}
