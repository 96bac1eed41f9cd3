import type { ConfState, Entry, HardState, Snapshot, SnapshotMeta, SnapshotSource } from '../types.js';

/** Thrown when asked for an index below the compaction point (use the snapshot). */
export class CompactedError extends Error {
  constructor(readonly index: number) {
    super(`log index ${index} is compacted`);
    this.name = 'CompactedError';
  }
}

/** Thrown by SnapshotSource.read when a newer snapshot replaced the image being read. */
export class SnapshotGoneError extends Error {
  constructor(readonly index: number) {
    super(`the snapshot image at index ${index} was replaced`);
    this.name = 'SnapshotGoneError';
  }
}

/** Thrown when asked for an index past the last stored entry. */
export class UnavailableError extends Error {
  constructor(readonly index: number) {
    super(`log index ${index} is not available`);
    this.name = 'UnavailableError';
  }
}

/**
 * The read side of the durable log, as the pure core sees it. Every method is
 * synchronous: an implementation backed by disk keeps what these need (its bounds,
 * a cache of the tail) in memory or reads synchronously.
 */
export interface LogStore {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Index of the first entry still stored: snapshot index + 1, or lower when a
   *  compaction kept a trailing margin of entries (see WritableLogStore.compact). */
  firstIndex(): number;
  /** Index of the last stored entry (the snapshot index if the log is empty). */
  lastIndex(): number;
  /** Term of the entry at `index`, valid for firstIndex()-1 ..= lastIndex(). */
  term(index: number): number;
  /** Entries in [lo, hi), stopping early once `maxBytes` of data is exceeded
   *  (always at least one entry). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The most recent snapshot (index 0 and empty data when none was taken). */
  snapshot(): Snapshot;
  /** The most recent snapshot's image as a source read piece by piece. Optional: the
   *  core streams snapshot().data when it is absent. */
  snapshotSource?(): SnapshotSource;
  /** Where the chunks of a snapshot stream from the leader go as they arrive. Optional:
   *  without it the core assembles the stream in memory and the snapshot's data is the
   *  whole stream. A store whose leaders stream more than the image (the entries a
   *  snapshot must keep) spools that part to disk and hands the core only the image. */
  snapshotSpool?(meta: SnapshotMeta, totalBytes: number): SnapshotSpool;
}

/** The receiving end of one snapshot stream, fed in order (see snapshotSpool). */
export interface SnapshotSpool {
  /** The next bytes of the stream. Throws when they cannot be taken (they are damaged,
   *  the disk failed): the stream is then dropped and asked for again from the start. */
  write(data: Uint8Array): void;
  /** The stream is complete: the snapshot to install (throws like write()). Its data is
   *  what the state machine restores from; the store knows the rest by the object. */
  finish(): Snapshot;
  /** The stream is dropped (replaced by another, or abandoned): release what it holds. */
  discard(): void;
}

/** What one Ready asks to persist, written atomically and synced. */
export interface PersistBatch {
  hardState?: HardState;
  /** Appended; any stored entries at or after entries[0].index are replaced. */
  entries: Entry[];
  /** A snapshot received from the leader: replaces the log up to its index. */
  snapshot?: Snapshot;
}

/** The write side, used by the driver (and by the simulator's crash model). */
export interface WritableLogStore extends LogStore {
  save(batch: PersistBatch): Promise<void> | void;
  /** Records a snapshot the local state machine took at `snapshot.meta.index`
   *  (the store derives its term from the log; `snapshot.meta.term` is ignored) and
   *  deletes every entry below `keepFrom`, by default every entry at or below the
   *  snapshot. Entries from `keepFrom` (clamped to the stored range, at most the
   *  snapshot index + 1) stay readable, so a follower slightly behind still catches
   *  up by appends; firstIndex() becomes that bound. A snapshot not newer than the
   *  one held is ignored. */
  compact(snapshot: Snapshot, keepFrom?: number): Promise<void> | void;
  close(): Promise<void> | void;
}
