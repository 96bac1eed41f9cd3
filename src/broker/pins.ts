/**
 * How many live messages have their body in each log entry, so that `min()` — the
 * oldest entry the state still reads (Broker.retainFrom) — costs O(1). Runs of
 * (index, count) are kept in increasing index order. New sends pin the newest index
 * (apply order), so adding is an append; removing finds the run by binary search and
 * moves the head past runs that dropped to zero. Nothing scans the messages.
 */
export class PinSet {
  private idx: number[] = [];
  private cnt: number[] = [];
  private head = 0;
  /** Runs after the head whose count is zero (dropped at the next compaction). */
  private empty = 0;
  /** Where remove() found its last run. */
  private lastAt = 0;

  /** The smallest pinned index, or undefined when nothing is pinned. */
  min(): number | undefined {
    return this.head < this.idx.length ? this.idx[this.head] : undefined;
  }

  add(index: number, n = 1): void {
    const idx = this.idx;
    const last = idx.length - 1;
    if (last >= this.head && idx[last] === index) {
      if (this.cnt[last] === 0) this.empty--;
      this.cnt[last] += n;
      return;
    }
    if (last < this.head || idx[last] < index) {
      idx.push(index);
      this.cnt.push(n);
      return;
    }
    // An older entry again (a subscription leasing a message its topic still holds):
    // the run usually exists; otherwise it goes in its place.
    const at = this.find(index);
    if (at < idx.length && idx[at] === index) {
      if (this.cnt[at] === 0) this.empty--;
      this.cnt[at] += n;
    } else if (at === this.head && this.head > 0) {
      this.head--;
      idx[this.head] = index;
      this.cnt[this.head] = n;
    } else {
      idx.splice(at, 0, index);
      this.cnt.splice(at, 0, n);
    }
  }

  remove(index: number, n = 1): void {
    // Acks and expiries mostly release runs of messages from one entry: the run found
    // last is tried before a search.
    const hit = this.lastAt;
    const at = hit >= this.head && hit < this.idx.length && this.idx[hit] === index ? hit : this.find(index);
    this.lastAt = at;
    if (at >= this.idx.length || this.idx[at] !== index || this.cnt[at] < n) {
      throw new Error(`no pin on log index ${index} to remove (broker bookkeeping bug)`);
    }
    this.cnt[at] -= n;
    if (this.cnt[at] > 0) return;
    if (at !== this.head) {
      this.empty++;
      if (this.empty > 1024 && this.empty * 2 > this.idx.length - this.head) this.compact();
      return;
    }
    while (this.head < this.idx.length && this.cnt[this.head] === 0) {
      if (this.head !== at) this.empty--;
      this.head++;
    }
    if (this.head === this.idx.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.idx.length) this.compact();
  }

  clear(): void {
    this.idx = [];
    this.cnt = [];
    this.head = 0;
    this.empty = 0;
    this.lastAt = 0;
  }

  /** Pinned runs, oldest first (tests). */
  runs(): [number, number][] {
    const out: [number, number][] = [];
    for (let k = this.head; k < this.idx.length; k++) if (this.cnt[k] > 0) out.push([this.idx[k], this.cnt[k]]);
    return out;
  }

  /** First run at or after the head whose index is >= `index`. */
  private find(index: number): number {
    let lo = this.head;
    let hi = this.idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid] < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the runs before the head and those at zero. */
  private compact(): void {
    const idx: number[] = [];
    const cnt: number[] = [];
    for (let k = this.head; k < this.idx.length; k++) {
      if (this.cnt[k] > 0) {
        idx.push(this.idx[k]);
        cnt.push(this.cnt[k]);
      }
    }
    this.idx = idx;
    this.cnt = cnt;
    this.head = 0;
    this.empty = 0;
    this.lastAt = 0;
  }
}
