import type { Entry, Snapshot, SnapshotSource } from './types.js';
import { CompactedError, type LogStore } from './storage/log-store.js';
import { UnstableLog } from './log-unstable.js';
import { limitSize } from './util.js';

/**
 * The node's view of the Raft log: the persisted part (the store) followed by the
 * unstable part (accepted, not yet persisted), plus commit and applied indexes.
 */
export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;
  /** The last index handed out to be applied (in a Ready, or to a leader while its
   *  write is in flight): at or above `applied`, at or below `committed`. */
  applying: number;

  constructor(readonly store: LogStore) {
    const last = store.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    // The state machine restarts from the snapshot, which may sit above the first
    // stored entry (a compaction can keep a margin of entries below it).
    const start = Math.max(store.firstIndex() - 1, store.snapshot().meta.index);
    this.committed = start;
    this.applied = start;
    this.applying = start;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.store.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.store.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term at `index`, or undefined when it is compacted away or past the end. */
  term(index: number): number | undefined {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    try {
      return this.store.term(index);
    } catch (err) {
      if (err instanceof CompactedError) return undefined;
      throw err;
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The last index known to be on disk (a leader counts itself only up to here). */
  persistedIndex(): number {
    const u = this.unstable;
    if (u.snapshot || u.entries.length > 0) return Math.min(u.offset - 1, this.store.lastIndex());
    return this.store.lastIndex();
  }

  /** A candidate's log is at least as up-to-date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Follower side of AppendEntries: returns the last new index, or -1 on a mismatch. */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0].index - 1 < this.committed) {
      throw new Error(`appending at ${ents[0].index} is below committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The first entry whose term differs from ours, or the first new one; 0 if all match. */
  private findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with its term: the fast
   * backtracking hint. Everything above it cannot match a log whose entry at
   * `index` has `term`, so one round trip skips a whole term of divergence.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
      i--;
    }
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex()) {
        throw new Error(`commit ${index} is out of range (last ${this.lastIndex()})`);
      }
      this.committed = index;
    }
  }

  /** Leader's commit rule: only an entry of the current term is committed by counting (Figure 8). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied ${index} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  /** The committed entries not yet handed out; the caller hands them out (`applying`). */
  nextCommittedEntries(maxBytes?: number): Entry[] {
    const lo = Math.max(this.applying + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  /** Entries in [lo, hi) limited by size, or undefined when `lo` is compacted. */
  entriesFrom(lo: number, maxBytes: number): Entry[] | undefined {
    const last = this.lastIndex();
    if (lo > last) return [];
    if (lo < this.firstIndex()) return undefined;
    return this.slice(lo, last + 1, maxBytes);
  }

  slice(lo: number, hi: number, maxBytes?: number): Entry[] {
    const u = this.unstable;
    let ents: Entry[] = [];
    if (lo < u.offset) {
      ents = this.store.entries(lo, Math.min(hi, u.offset), maxBytes);
      if (ents.length < Math.min(hi, u.offset) - lo) return ents; // size limit reached
    }
    if (hi > u.offset) {
      const part = u.slice(Math.max(lo, u.offset), hi);
      ents = ents.length > 0 ? ents.concat(part) : part;
    }
    return limitSize(ents, maxBytes);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.store.snapshot();
  }

  /** The latest snapshot as a source for streaming it to a follower. */
  snapshotSource(): SnapshotSource {
    const unstable = this.unstable.snapshot;
    if (!unstable && this.store.snapshotSource) return this.store.snapshotSource();
    return sourceOf(unstable ?? this.store.snapshot());
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.unstable.restore(snapshot);
  }
}

/** An image already in memory, as a source. */
export function sourceOf(snapshot: Snapshot): SnapshotSource {
  const { meta, data } = snapshot;
  return { meta, totalBytes: data.length, read: (offset, length) => data.subarray(offset, Math.min(data.length, offset + length)) };
}
