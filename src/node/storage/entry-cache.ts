import type { Entry } from '../../raft/types.js';

/**
 * The read cache of the log: a contiguous run of the most recent entries, ending at
 * the last one, bounded by count and bytes. Most reads (entries to send to followers,
 * entries to apply) fall here, soon after the write; older ones go to disk.
 */
export class EntryCache {
  private cache: Entry[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /** The first cached index, given the log's last index (last + 1 when empty). */
  first(last: number): number {
    return last - (this.cache.length - this.head) + 1;
  }

  /** The cached entry at `index`, or undefined. */
  get(index: number, last: number): Entry | undefined {
    const first = this.first(last);
    return index >= first && index <= last ? this.cache[this.head + index - first] : undefined;
  }

  /** Appends `e` (the new last entry), evicting from the front. */
  push(e: Entry): void {
    this.cache.push(e);
    this.bytes += e.data.length;
    while (this.cache.length - this.head > 1 && (this.cache.length - this.head > this.maxEntries || this.bytes > this.maxBytes)) {
      this.bytes -= this.cache[this.head].data.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops entries at or after `index` (being replaced). Called before the log's last index moves. */
  truncateFrom(index: number, last: number): void {
    const keep = Math.max(0, index - this.first(last));
    if (keep >= this.cache.length - this.head) return;
    for (let i = this.head + keep; i < this.cache.length; i++) this.bytes -= this.cache[i].data.length;
    this.cache.length = this.head + keep;
    if (keep === 0) this.clear();
  }

  /** Drops entries below `index` (compacted away). */
  dropBelow(index: number): void {
    while (this.head < this.cache.length && this.cache[this.head].index < index) {
      this.bytes -= this.cache[this.head].data.length;
      this.head++;
    }
    if (this.head === this.cache.length) this.clear();
  }

  clear(): void {
    this.cache = [];
    this.head = 0;
    this.bytes = 0;
  }
}
