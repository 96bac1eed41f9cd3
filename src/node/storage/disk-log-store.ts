import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { concatBytes } from '../../bytes.js';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMeta, SnapshotSource } from '../../raft/types.js';
import type { SnapshotSpool } from '../../raft/storage/log-store.js';
import {
  CompactedError,
  SnapshotGoneError,
  UnavailableError,
  type PersistBatch,
  type WritableLogStore,
} from '../../raft/storage/log-store.js';
import { StorageFailedError, StoreCorruptError, StoreLockedError } from '../errors.js';
import {
  CorruptValueError,
  KEY_FIRST_SEGMENT,
  KEY_HARD_STATE,
  KEY_LOG_START,
  KEY_SNAPSHOT_META,
  encodeEntry,
  encodeHardState,
  encodeLogStart,
  encodeSegmentSeq,
  encodeSnapshotRecord,
  type EntryKeys,
  type LogStart,
} from './codec.js';
import { EntryCache } from './entry-cache.js';
import { RecordLayout } from './record-layout.js';
import { SEGMENTS_DIR } from './segments/segment-format.js';
import type { SegmentFile } from './segments/segment-file.js';
import type { SegmentLog } from './segments/segment-log.js';
import type { RecoveredSegments } from './segments/segment-recovery.js';
import { SnapshotImages } from './snapshot-images.js';
import { FileSnapshotSpool, spooledEntriesOf, type SpooledEntries } from './snapshot-spool.js';
import { encodeStreamHeader, STREAM_HEADER_BYTES } from './snapshot-stream.js';
import { completeAdoption, discardSpooled, prepareAdoption, spooledValue } from './spool-adoption.js';
import { checkedEntry, readState, type RecoveredState } from './store-recovery.js';
import { StoreRecords, type BatchOp, type Db } from './store-records.js';

export { SEGMENTS_DIR } from './segments/segment-format.js';

export interface DiskLogStoreOptions {
  /** Written into a fresh store and checked on every open: a data dir is one node's. */
  nodeId: string;
  /** The voters of a fresh store (ignored when the store already exists). */
  conf: ConfState;
  /** Bounds of the in-memory tail cache (the entries the core reads most). */
  cacheEntries?: number;
  cacheBytes?: number;
  /** A snapshot image is written in slices of this size, one batch each, so that
   *  storing a large image never holds the event loop for long. */
  snapshotSliceBytes?: number;
  /** Where a FRESH store keeps its entries: append-only segment files (the default) or
   *  one LevelDB key per entry (the format of earlier builds). An existing store keeps
   *  the layout it was written in. */
  entryLayout?: 'segments' | 'leveldb';
  /** Segment files roll at about this size (default 64 MiB). */
  segmentBytes?: number;
}

/**
 * The durable Raft log of one node. A LevelDB holds the hard state, the snapshot
 * metadata and image, and the log start; the entries live in append-only segment
 * files (segments/, see SegmentLog and the storage README), or, in a store written
 * by an earlier build, one LevelDB key per entry (keyed by big-endian index).
 *
 * A save() costs one synced write per node: the records (hard state, snapshot) in
 * one LevelDB batch when they change, and the entries in one write to the newest
 * segment. When both are written the records go first, so a term or vote is never
 * older on disk than the entries that carry it, and the commit index recorded never
 * points past the entries already durable. Reads are synchronous (the core needs them
 * so): bounds, terms and a bounded tail of entries live in memory, older entries are
 * read from disk by position.
 *
 * compact() may run while save()s of entries are in flight (the driver does not stop
 * replicating while a snapshot is written), but not beside a save() that installs a
 * snapshot: the two would race for the snapshot record on disk.
 */
export class DiskLogStore implements WritableLogStore {
  /** Where entries live: segment files, or LevelDB keys in a store of format 1 or 2. */
  private readonly segments: SegmentLog | undefined;
  private readonly keys: EntryKeys | undefined;
  /** Set when opening cut a torn write off the end of the log (the driver logs it). */
  readonly repairedTail: RecoveredSegments['repairedTail'];
  /** The segments opening read record by record (the last, and any sealed one whose
   *  sidecar index was missing or unusable), with why; empty for the LevelDB layout. */
  readonly scannedSegments: RecoveredSegments['scanned'];
  private readonly records: StoreRecords;
  private readonly images: SnapshotImages;
  private hardState: HardState;
  private snap: SnapshotMeta;
  /** The entry just below the first stored one (the snapshot's, unless a margin was kept). */
  private start: LogStart;
  private last: number;
  private readonly cache: EntryCache;
  /** Deletions of entries below the log start (LevelDB layout), one after the other. */
  private background: Promise<void> = Promise.resolve();
  /** Entries below this index are known deleted. Clears start here, not at 0: a LevelDB
   *  range scan steps over every tombstone until compaction drops it, so clearing from
   *  0 after each snapshot grew slower with the age of the log. */
  private clearedBelow = 0;
  private streamLayout: RecordLayout | undefined;
  /** The entries of completed snapshot streams (with their snapshot's index) until a
   *  save installs them. */
  private readonly unclaimed = new Map<SpooledEntries, number>();

  private constructor(
    db: Db,
    readonly location: string,
    state: RecoveredState,
    opts: DiskLogStoreOptions,
  ) {
    this.records = new StoreRecords(db, location);
    const sliceBytes = Math.max(1, opts.snapshotSliceBytes ?? 1024 * 1024);
    this.images = new SnapshotImages(this.records, sliceBytes, { index: state.snap.index, data: state.snapData, crc: state.snapCrc, sliced: state.snapSliced });
    this.segments = state.segments;
    this.repairedTail = state.repairedTail;
    this.scannedSegments = state.scanned;
    this.keys = state.keys;
    this.hardState = state.hardState;
    this.snap = state.snap;
    this.start = state.start;
    this.last = state.last;
    this.cache = new EntryCache(opts.cacheEntries ?? 16_384, opts.cacheBytes ?? 64 * 1024 * 1024);
    for (const e of state.tail) this.cache.push(e);
  }

  /** Opens (or creates) the log in `location`; throws StoreCorruptError / StoreLockedError. */
  static async open(location: string, opts: DiskLogStoreOptions): Promise<DiskLogStore> {
    try {
      mkdirSync(location, { recursive: true });
    } catch (err) {
      throw new StorageFailedError(`cannot create data dir ${location}: ${(err as Error).message}`, { cause: err });
    }
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      // Log entries live briefly (compacted after each snapshot) and the broker's
      // commands are small: a larger memtable means fewer flushes and compactions,
      // and compression would only cost CPU.
      await db.open({ writeBufferSize: 32 * 1024 * 1024, compression: false });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new StoreLockedError(location);
      if (cause?.code === 'LEVEL_CORRUPTION') throw new StoreCorruptError(location, `LevelDB reports corruption: ${cause.message}`);
      throw new StorageFailedError(`cannot open raft log at ${location}: ${cause?.message ?? (err as Error).message}`, { cause: err });
    }
    try {
      const state = await readState(db, location, opts);
      let store: DiskLogStore;
      try {
        store = new DiskLogStore(db, location, state, opts);
      } catch (err) {
        await state.segments?.close();
        throw err;
      }
      // Entries at or below the log start are invisible; a compaction interrupted by a
      // crash may have left some behind.
      store.clearBelow(state.start.index);
      // So may an image whose record was never written, or one a newer image replaced.
      store.images.clearOthers(state.snapSliced ? state.snap.index : undefined);
      return store;
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
  }

  /** The hard state as last written (no copy: the driver compares against it per Ready). */
  get savedHardState(): Readonly<HardState> {
    return this.hardState;
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: { ...this.hardState }, conf: { voters: [...this.snap.conf.voters] } };
  }

  firstIndex(): number {
    return this.start.index + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  term(index: number): number {
    if (index < this.start.index) throw new CompactedError(index);
    if (index > this.last) throw new UnavailableError(index);
    if (index === this.start.index) return this.start.term;
    if (this.segments) return this.segments.term(index);
    return this.entryAt(index).term;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo <= this.start.index) throw new CompactedError(lo);
    if (hi > this.last + 1) throw new UnavailableError(hi - 1);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entryAt(i);
      size += e.data.length;
      if (maxBytes !== undefined && out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** The held snapshot's metadata (what the snapshotter checks after every Ready,
   *  without building the Snapshot object snapshot() returns). */
  snapshotMeta(): SnapshotMeta {
    return this.snap;
  }

  /** The held snapshot. Its `data` is read on first access (from memory while the
   *  image is still there, else from disk: costly for a large image); the metadata is free. */
  snapshot(): Snapshot {
    const meta = this.snap;
    const image = () => this.images.get(meta.index);
    return {
      meta,
      get data() {
        return image();
      },
    };
  }

  /** Bytes of the held snapshot's image (without reading it). */
  snapshotBytes(): number {
    return this.images.bytes;
  }

  /**
   * What a follower installing the held snapshot receives, read a piece at a time
   * (the image one getSync per 1 MiB slice, entries by position) so that streaming it
   * never loads the whole of it: the image alone when the log keeps no entry at or
   * below the snapshot, otherwise a composite stream (snapshot-stream.ts) of the image
   * and those entries: they hold what the state still reads (message bodies).
   */
  snapshotSource(): SnapshotSource {
    const meta = this.snap;
    const imageBytes = this.images.bytes;
    const readImage = this.images.reader();
    const segments = this.segments;
    const start = this.start;
    if (!segments || start.index >= meta.index) return { meta, totalBytes: imageBytes, read: readImage };
    const header = encodeStreamHeader({ imageBytes, start });
    const layout = this.layoutOf(segments, start.index + 1, meta.index);
    const recordsAt = STREAM_HEADER_BYTES + imageBytes;
    const totalBytes = recordsAt + layout.bytes;
    const read = (offset: number, length: number): Uint8Array => {
      const end = Math.min(totalBytes, offset + length);
      const parts: Uint8Array[] = [];
      if (offset < STREAM_HEADER_BYTES) parts.push(header.subarray(offset, Math.min(end, STREAM_HEADER_BYTES)));
      if (offset < recordsAt && end > STREAM_HEADER_BYTES) {
        parts.push(readImage(Math.max(0, offset - STREAM_HEADER_BYTES), Math.min(end, recordsAt) - Math.max(offset, STREAM_HEADER_BYTES)));
      }
      if (end > recordsAt) {
        // Entries compacted away since the stream began (a newer snapshot moved the log start): start over.
        if (this.start.index > start.index || this.segments !== segments) throw new SnapshotGoneError(meta.index);
        try {
          parts.push(layout.read(Math.max(0, offset - recordsAt), end - Math.max(offset, recordsAt)));
        } catch (err) {
          throw new StorageFailedError(`reading the entries of the snapshot stream from ${this.location} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      return parts.length === 1 ? parts[0] : concatBytes(parts);
    };
    return { meta, totalBytes, read };
  }

  /** Where each retained entry's record lies in a stream (one layout per snapshot: every
   *  follower's stream of it shares it). */
  private layoutOf(segments: SegmentLog, first: number, last: number): RecordLayout {
    const held = this.streamLayout;
    if (held && held.first === first && held.last === last) return held;
    const layout = new RecordLayout(segments, first, last);
    this.streamLayout = layout;
    return layout;
  }

  /** Where the chunks of a snapshot stream from the leader go: the image in memory, the
   *  entries that come with it into a file beside the segments (see FileSnapshotSpool). */
  snapshotSpool(meta: SnapshotMeta): SnapshotSpool {
    const dir = join(this.location, SEGMENTS_DIR);
    mkdirSync(dir, { recursive: true });
    return new FileSnapshotSpool(dir, meta, (entries) => this.unclaimed.set(entries, meta.index));
  }

  /** Releases the spooled entries of completed streams that no install will claim any
   *  more (the core had the snapshot's entry already, or a newer snapshot is held). */
  private dropUnclaimed(all = false): void {
    for (const [entries, index] of this.unclaimed) {
      if (!all && index > this.snap.index) continue;
      this.unclaimed.delete(entries);
      discardSpooled(entries);
    }
  }

  /** `mayBlock`: the caller has nothing to do until the write is durable, so a small
   *  batch of entries may be written on the event loop (segments/loop-writes.ts). */
  async save(batch: PersistBatch, mayBlock = false): Promise<void> {
    this.records.checkWritable();
    // A snapshot from the leader: its image is written first, in slices; the batch
    // below records it (and drops the log) atomically.
    const dataCrc =
      batch.snapshot && batch.snapshot.meta.index > this.snap.index
        ? await this.images.write(batch.snapshot.meta.index, batch.snapshot.data)
        : undefined;
    const ops: BatchOp[] = [];
    const keys = this.keys;
    let snap = this.snap;
    let snapData: Uint8Array | undefined;
    let last = this.last;
    let installing = false;
    let truncatedTo: number | undefined; // the cache keeps only entries below this index

    let snapCrc = 0;
    // The entries the leader keeps below its snapshot, spooled to a file as they came.
    const spooled = batch.snapshot ? spooledEntriesOf(batch.snapshot) : undefined;
    let start: LogStart = this.start;
    let adoption: SegmentFile | undefined;
    if (batch.snapshot && dataCrc !== undefined && batch.snapshot.meta.index > this.snap.index) {
      snap = copyMeta(batch.snapshot.meta);
      snapData = batch.snapshot.data;
      start = spooled ? { ...spooled.start } : { index: snap.index, term: snap.term };
      ops.push(snapshotRecordOp(snap, snapData.length, dataCrc), logStartOp(start));
      snapCrc = dataCrc;
      installing = true;
      // The snapshot replaces the whole log: entries above it go in this same batch
      // (with segments: the log moves to a new segment, named here: the spooled entries
      // when they came with it), those below become invisible and are cleared afterwards.
      if (this.segments) {
        if (spooled) adoption = await this.prepareAdoption(spooled, this.segments.adoptionSeq());
        ops.push({ type: 'put', key: KEY_FIRST_SEGMENT, value: encodeSegmentSeq(adoption ? adoption.seq : this.segments.peekNextSeq()) });
      } else {
        for (let i = Math.max(snap.index, this.snap.index) + 1; i <= this.last; i++) ops.push({ type: 'del', key: keys!.key(i) });
        // One key per entry in this same batch: the layout of earlier builds holds the
        // whole of them in memory once (it has no files to rename into place).
        if (spooled) for (let i = start.index + 1; i <= snap.index; i++) ops.push({ type: 'put', key: keys!.key(i), value: spooledValue(spooled, i) });
      }
      last = snap.index;
      truncatedTo = 0;
    } else if (spooled) {
      discardSpooled(spooled); // a snapshot not newer than the one held
      this.unclaimed.delete(spooled);
    }
    // The last entry durable before the entries of this save are written.
    const durableLast = last;

    let ents = batch.entries;
    if (ents.length > 0 && ents[ents.length - 1].index > snap.index) {
      if (ents[0].index <= snap.index) ents = ents.slice(snap.index + 1 - ents[0].index);
      const from = ents[0].index;
      if (from > last + 1) throw new UnavailableError(from - 1);
      const newLast = ents[ents.length - 1].index;
      if (keys) {
        for (const e of ents) ops.push({ type: 'put', key: keys.key(e.index), value: encodeEntry(e) });
        for (let i = newLast + 1; i <= last; i++) ops.push({ type: 'del', key: keys.key(i) }); // a replaced suffix
      }
      if (from <= last) truncatedTo = Math.min(truncatedTo ?? from, from);
      last = newLast;
    } else {
      ents = [];
    }

    const hardState = batch.hardState ? { ...batch.hardState } : this.hardState;
    const termOrVote = hardState.term !== this.hardState.term || hardState.vote !== this.hardState.vote;
    /** Records written (without sync) once the segment write is durable. */
    const afterEntries: BatchOp[] = [];
    if (batch.hardState) {
      const op: BatchOp = { type: 'put', key: KEY_HARD_STATE, value: encodeHardState(hardState) };
      if (this.segments && hardState.commit > durableLast) {
        // Segment entries are written after the records: a commit index on disk must
        // not name entries a crash in between would lose. A new term or vote goes
        // first with the commit index the disk already holds; the whole hard state
        // follows the entries.
        if (termOrVote) ops.push({ type: 'put', key: KEY_HARD_STATE, value: encodeHardState({ ...hardState, commit: durableLast }) });
        afterEntries.push(op);
      } else {
        ops.push(op);
      }
    }
    if (ops.length === 0 && ents.length === 0 && afterEntries.length === 0) return;

    if (ops.length > 0) {
      // Raft needs term, vote and entries durable before answering; a commit index may
      // lag on disk (it is learned again from the leader), so a commit-only change is
      // written without waiting for the disk.
      const sync = (keys !== undefined && ents.length > 0) || installing || termOrVote || ops.some((op) => op.type === 'del');
      await this.records.write(ops, sync);
    }
    if (installing && this.segments) {
      if (adoption && spooled) {
        // Named by the records now: the last step of the adoption (open completes it
        // after a crash here).
        await this.completeAdoption(adoption);
        this.segments.adopt(adoption, spooled.index);
      } else {
        this.segments.startOver(snap.index);
      }
    } else if (spooled && installing) {
      discardSpooled(spooled); // its entries went into LevelDB
    }
    if (spooled) this.unclaimed.delete(spooled);
    this.dropUnclaimed();
    if (this.segments && ents.length > 0) {
      try {
        await this.segments.append(ents, mayBlock);
      } catch (err) {
        throw this.records.failed(err);
      }
    }
    if (afterEntries.length > 0) await this.records.write(afterEntries, false);

    // Only an installed snapshot moves the snapshot here: a compact() that finished
    // during this write already moved it, and must not be undone.
    const installed = installing && snap.index > this.snap.index;
    if (installed && snapData) {
      this.snap = snap;
      this.images.hold(snap.index, snapData, snapCrc);
      this.start = start;
    }
    this.hardState = hardState;
    if (truncatedTo !== undefined) this.cache.truncateFrom(truncatedTo, this.last);
    if (installed) this.cache.dropBelow(snap.index + 1);
    this.last = last;
    for (const e of ents) this.cache.push(e);
    if (installed) {
      this.clearBelow(start.index);
      this.images.clearOthers(snap.index);
    }
  }

  /** Writes spooled entries as segment `seq`, not yet named by the records (see prepareAdoption). */
  private async prepareAdoption(spooled: SpooledEntries, seq: number): Promise<SegmentFile> {
    try {
      return await prepareAdoption(join(this.location, SEGMENTS_DIR), spooled, seq);
    } catch (err) {
      this.unclaimed.delete(spooled);
      discardSpooled(spooled);
      throw this.records.failed(err);
    }
  }

  private async completeAdoption(file: SegmentFile): Promise<void> {
    try {
      await completeAdoption(join(this.location, SEGMENTS_DIR), file);
    } catch (err) {
      throw this.records.failed(err);
    }
  }

  async compact(snapshot: Snapshot, keepFrom?: number): Promise<void> {
    this.records.checkWritable();
    const index = snapshot.meta.index;
    if (index <= this.snap.index) return; // older than the snapshot we hold
    if (index > this.last) throw new UnavailableError(index);
    const meta: SnapshotMeta = { index, term: this.term(index), conf: { voters: [...snapshot.meta.conf.voters] } };
    // The new start sits just below the first entry kept: never below the current one
    // (those entries are gone), never above the snapshot.
    const startIndex = Math.min(index, Math.max(this.start.index, (keepFrom ?? index + 1) - 1));
    const start: LogStart = { index: startIndex, term: this.term(startIndex) };
    const dataCrc = await this.images.write(index, snapshot.data);
    if (index <= this.snap.index) return; // an installed snapshot overtook this one
    await this.records.write([snapshotRecordOp(meta, snapshot.data.length, dataCrc), logStartOp(start)]);
    if (index <= this.snap.index) return;
    this.snap = meta;
    this.images.hold(index, snapshot.data, dataCrc);
    this.images.clearOthers(index);
    this.dropUnclaimed();
    if (start.index > this.start.index) {
      this.start = start;
      this.cache.dropBelow(start.index + 1);
      this.clearBelow(start.index);
    }
  }

  async close(): Promise<void> {
    if (this.records.closed) return;
    this.records.closed = true;
    this.dropUnclaimed(true);
    await this.background;
    await this.images.settled();
    await this.segments?.close();
    await this.records.db.close();
  }

  /** Deletes entries at or below `index` in the background (they are already invisible). */
  private clearBelow(index: number): void {
    if (this.segments) {
      this.segments.dropThrough(index);
      return;
    }
    const keys = this.keys!;
    if (index < this.clearedBelow) return;
    const from = this.clearedBelow;
    this.clearedBelow = index + 1;
    this.background = this.background
      .then(() => this.records.db.clear({ gte: keys.key(from), lte: keys.key(index) }))
      .catch(() => {
        // Harmless: invisible entries are cleared again on the next open.
      });
  }

  private entryAt(index: number): Entry {
    const cached = this.cache.get(index, this.last);
    if (cached) return cached;
    if (this.segments) {
      try {
        return this.segments.read(index);
      } catch (err) {
        if (err instanceof CorruptValueError) throw new StoreCorruptError(this.location, `entry ${index}: ${err.message}`);
        throw new StorageFailedError(`reading entry ${index} from ${this.location} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    let value: Uint8Array | undefined;
    try {
      value = this.records.db.getSync(this.keys!.key(index));
    } catch (err) {
      throw new StorageFailedError(`reading entry ${index} from ${this.location} failed: ${(err as Error).message}`, { cause: err });
    }
    if (value === undefined) throw new StoreCorruptError(this.location, `entry ${index} is missing inside the log [${this.start.index + 1}, ${this.last}]`);
    return checkedEntry(this.location, value, index);
  }
}

function snapshotRecordOp(meta: SnapshotMeta, dataBytes: number, dataCrc: number): BatchOp {
  return { type: 'put', key: KEY_SNAPSHOT_META, value: encodeSnapshotRecord({ meta, dataBytes, dataCrc, sliced: true }) };
}

function logStartOp(start: LogStart): BatchOp {
  return { type: 'put', key: KEY_LOG_START, value: encodeLogStart(start) };
}

function copyMeta(meta: SnapshotMeta): SnapshotMeta {
  return { index: meta.index, term: meta.term, conf: { voters: [...meta.conf.voters] } };
}
