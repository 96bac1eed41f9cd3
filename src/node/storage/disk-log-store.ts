import { closeSync, existsSync, fdatasync, mkdirSync, readdirSync, rename, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
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
  FORMAT_VERSION,
  LEVELDB_ENTRIES_FORMAT,
  READABLE_FORMATS,
  SEGMENT_FORMAT,
  SNAPSHOT_IMAGES_END,
  type EntryKeys,
  KEY_FIRST_SEGMENT,
  KEY_FORMAT,
  KEY_HARD_STATE,
  KEY_LOG_START,
  KEY_SNAPSHOT_DATA,
  KEY_SNAPSHOT_META,
  checksum,
  decodeEntry,
  decodeFormat,
  decodeHardState,
  decodeLogStart,
  decodeSegmentSeq,
  decodeSnapshotRecord,
  encodeEntry,
  encodeFormat,
  encodeHardState,
  encodeLogStart,
  encodeSegmentSeq,
  encodeSnapshotRecord,
  entryKeysOf,
  snapshotSliceKey,
  type LogStart,
} from './codec.js';
import { EntryCache } from './entry-cache.js';
import { SegmentLog } from './segments/segment-log.js';
import { adoptionFileName, segmentHeader, SPOOL_SUFFIX } from './segments/segment-format.js';
import { readAt, segmentPath, syncDir, writeAll, type SegmentFile } from './segments/segment-file.js';
import { encodeSidecar, writeSidecar } from './segments/segment-sidecar.js';
import { FileSnapshotSpool, spooledEntriesOf, type SpooledEntries } from './snapshot-spool.js';
import { encodeStreamHeader, STREAM_HEADER_BYTES } from './snapshot-stream.js';
import { RecordLayout } from './record-layout.js';
import { SegmentCorruptError, type RecoveredSegments } from './segments/segment-recovery.js';

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

/** The directory of the segment files, inside the store's directory (LevelDB ignores it). */
export const SEGMENTS_DIR = 'segments';

type Db = ClassicLevel<Uint8Array, Uint8Array>;
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const EMPTY = new Uint8Array(0);

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
  private hardState: HardState;
  private snap: SnapshotMeta;
  /** The held snapshot's image: pinned from open until the driver has restored from it,
   *  otherwise held only weakly and read back from disk when wanted. A large state's
   *  image costs as much memory as the state itself; keeping it resident for the rare
   *  follower that needs it would double the node's memory. */
  private pinnedImage: Uint8Array | undefined;
  private weakImage: { index: number; ref: WeakRef<Uint8Array> } | undefined;
  private snapBytes: number;
  private snapCrc: number;
  /** False only for an image stored whole under the old key (read at open). */
  private snapSliced: boolean;
  /** The entry just below the first stored one (the snapshot's, unless a margin was kept). */
  private start: LogStart;
  private last: number;
  private readonly cache: EntryCache;
  private readonly sliceBytes: number;
  private failure: StorageFailedError | undefined;
  private background: Promise<void> = Promise.resolve();
  /** Entries below this index are known deleted. Clears start here, not at 0: a LevelDB
   *  range scan steps over every tombstone until compaction drops it, so clearing from
   *  0 after each snapshot grew slower with the age of the log. */
  private clearedBelow = 0;
  /** The sliced images that may still be stored (indexes), beside the current one. */
  private staleImages = new Set<number>();
  private imagesScanned = false;
  private wholeImageMayExist = false;
  private closed = false;
  private streamLayout: RecordLayout | undefined;
  /** The entries of completed snapshot streams (with their snapshot's index) until a
   *  save installs them. */
  private readonly unclaimed = new Map<SpooledEntries, number>();

  private constructor(
    private readonly db: Db,
    readonly location: string,
    state: { segments: SegmentLog | undefined; repairedTail: RecoveredSegments['repairedTail']; scanned: RecoveredSegments['scanned']; keys: EntryKeys | undefined; hardState: HardState; snap: SnapshotMeta; snapData: Uint8Array; snapCrc: number; snapSliced: boolean; start: LogStart; last: number; tail: Entry[] },
    opts: DiskLogStoreOptions,
  ) {
    this.segments = state.segments;
    this.repairedTail = state.repairedTail;
    this.scannedSegments = state.scanned;
    this.keys = state.keys;
    this.hardState = state.hardState;
    this.snap = state.snap;
    this.pinnedImage = state.snapData;
    this.snapBytes = state.snapData.length;
    this.snapCrc = state.snapCrc;
    this.snapSliced = state.snapSliced;
    this.start = state.start;
    this.last = state.last;
    this.cache = new EntryCache(opts.cacheEntries ?? 16_384, opts.cacheBytes ?? 64 * 1024 * 1024);
    this.sliceBytes = Math.max(1, opts.snapshotSliceBytes ?? 1024 * 1024);
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
      store.clearOtherImages(state.snapSliced ? state.snap.index : undefined);
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

  /** The held snapshot. Its `data` is read on first access (from memory while the
   *  image is still there, else from disk: costly for a large image); the metadata is free. */
  snapshot(): Snapshot {
    const meta = this.snap;
    const image = () => this.image(meta.index);
    return {
      meta,
      get data() {
        return image();
      },
    };
  }

  /** Bytes of the held snapshot's image (without reading it). */
  snapshotBytes(): number {
    return this.snapBytes;
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
    const imageBytes = this.snapBytes;
    const readImage = this.imageReader();
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

  /** The held image as a reader of byte ranges (a slice at a time from disk). */
  private imageReader(): (offset: number, length: number) => Uint8Array {
    const index = this.snap.index;
    const totalBytes = this.snapBytes;
    const sliced = this.snapSliced;
    let sliceSize = 0;
    return (offset: number, length: number): Uint8Array => {
      const end = Math.min(totalBytes, offset + length);
      const cached = this.cachedImage(index);
      if (cached) return cached.subarray(offset, end);
      if (!sliced) return this.image(index).subarray(offset, end);
      if (sliceSize === 0) sliceSize = this.readSlice(index, 0).length;
      const parts: Uint8Array[] = [];
      for (let n = Math.floor(offset / sliceSize); n * sliceSize < end; n++) {
        const slice = this.readSlice(index, n);
        parts.push(slice.subarray(Math.max(0, offset - n * sliceSize), Math.min(slice.length, end - n * sliceSize)));
      }
      return parts.length === 1 ? parts[0] : concatBytes(parts);
    };
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

  private cachedImage(index: number): Uint8Array | undefined {
    if (index === this.snap.index && this.pinnedImage) return this.pinnedImage;
    return this.weakImage?.index === index ? this.weakImage.ref.deref() : undefined;
  }

  private holdWeakly(index: number, image: Uint8Array): void {
    this.pinnedImage = undefined;
    this.weakImage = { index, ref: new WeakRef(image) };
  }

  /** The whole image of the snapshot at `index`, from memory or read back from disk. */
  private image(index: number): Uint8Array {
    const cached = this.cachedImage(index);
    if (cached) {
      this.holdWeakly(index, cached);
      return cached;
    }
    if (index !== this.snap.index) throw new SnapshotGoneError(index);
    if (this.snapBytes === 0) return EMPTY;
    let data: Uint8Array;
    if (this.snapSliced) {
      const parts: Uint8Array[] = [];
      for (let n = 0, read = 0; read < this.snapBytes; n++) {
        const slice = this.readSlice(index, n);
        parts.push(slice);
        read += slice.length;
      }
      data = concatBytes(parts);
    } else {
      data = this.db.getSync(KEY_SNAPSHOT_DATA) ?? EMPTY;
    }
    if (data.length !== this.snapBytes || checksum(data) !== this.snapCrc) {
      throw new StoreCorruptError(this.location, `snapshot data at index ${index} does not match its length/checksum`);
    }
    this.holdWeakly(index, data);
    return data;
  }

  private readSlice(index: number, n: number): Uint8Array {
    const slice = this.db.getSync(snapshotSliceKey(index, n));
    if (slice === undefined) {
      if (index !== this.snap.index) throw new SnapshotGoneError(index);
      throw new StoreCorruptError(this.location, `slice ${n} of the snapshot image at index ${index} is missing`);
    }
    return slice;
  }

  async save(batch: PersistBatch): Promise<void> {
    this.checkWritable();
    // A snapshot from the leader: its image is written first, in slices; the batch
    // below records it (and drops the log) atomically.
    const dataCrc =
      batch.snapshot && batch.snapshot.meta.index > this.snap.index
        ? await this.writeImage(batch.snapshot.meta.index, batch.snapshot.data)
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
      await this.write(ops, sync);
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
        await this.segments.append(ents);
      } catch (err) {
        throw this.failed(err);
      }
    }
    if (afterEntries.length > 0) await this.write(afterEntries, false);

    // Only an installed snapshot moves the snapshot here: a compact() that finished
    // during this write already moved it, and must not be undone.
    const installed = installing && snap.index > this.snap.index;
    if (installed && snapData) {
      this.snap = snap;
      this.setImage(snap.index, snapData, snapCrc);
      this.start = start;
    }
    this.hardState = hardState;
    if (truncatedTo !== undefined) this.cache.truncateFrom(truncatedTo, this.last);
    if (installed) this.cache.dropBelow(snap.index + 1);
    this.last = last;
    for (const e of ents) this.cache.push(e);
    if (installed) {
      this.clearBelow(start.index);
      this.clearOtherImages(snap.index);
    }
  }

  /**
   * The first steps of installing spooled entries as segment `seq`: the file gets its
   * header and is synced, its sidecar is written, and it is renamed to `<seq>.adopt`
   * (directory synced). Nothing names it yet: a crash now leaves the old log, and the
   * next open deletes the file (its number is above the first segment the records name).
   */
  private async prepareAdoption(spooled: SpooledEntries, seq: number): Promise<SegmentFile> {
    const dir = join(this.location, SEGMENTS_DIR);
    try {
      await writeAll(spooled.fd, segmentHeader(seq), 0);
      await new Promise<void>((resolve, reject) => fdatasync(spooled.fd, (err) => (err ? reject(err) : resolve())));
      await writeSidecar(dir, seq, encodeSidecar(seq, spooled.bytes, spooled.index, { first: spooled.index.first, last: spooled.index.last }));
      const path = join(dir, adoptionFileName(seq));
      await new Promise<void>((resolve, reject) => rename(spooled.path, path, (err) => (err ? reject(err) : resolve())));
      await syncDir(dir);
      return { seq, path, fd: spooled.fd, size: spooled.bytes };
    } catch (err) {
      this.unclaimed.delete(spooled);
      discardSpooled(spooled);
      throw this.failed(err);
    }
  }

  /** Renames the adopted file to its segment name (and syncs the directory). */
  private async completeAdoption(file: SegmentFile): Promise<void> {
    const dir = join(this.location, SEGMENTS_DIR);
    const path = segmentPath(dir, file.seq);
    try {
      await new Promise<void>((resolve, reject) => rename(file.path, path, (err) => (err ? reject(err) : resolve())));
      await syncDir(dir);
    } catch (err) {
      throw this.failed(err);
    }
    file.path = path;
  }

  async compact(snapshot: Snapshot, keepFrom?: number): Promise<void> {
    this.checkWritable();
    const index = snapshot.meta.index;
    if (index <= this.snap.index) return; // older than the snapshot we hold
    if (index > this.last) throw new UnavailableError(index);
    const meta: SnapshotMeta = { index, term: this.term(index), conf: { voters: [...snapshot.meta.conf.voters] } };
    // The new start sits just below the first entry kept: never below the current one
    // (those entries are gone), never above the snapshot.
    const startIndex = Math.min(index, Math.max(this.start.index, (keepFrom ?? index + 1) - 1));
    const start: LogStart = { index: startIndex, term: this.term(startIndex) };
    const dataCrc = await this.writeImage(index, snapshot.data);
    if (index <= this.snap.index) return; // an installed snapshot overtook this one
    await this.write([snapshotRecordOp(meta, snapshot.data.length, dataCrc), logStartOp(start)]);
    if (index <= this.snap.index) return;
    this.snap = meta;
    this.setImage(index, snapshot.data, dataCrc);
    this.clearOtherImages(index);
    this.dropUnclaimed();
    if (start.index > this.start.index) {
      this.start = start;
      this.cache.dropBelow(start.index + 1);
      this.clearBelow(start.index);
    }
  }

  private setImage(index: number, data: Uint8Array, crc: number): void {
    this.snapBytes = data.length;
    this.snapCrc = crc;
    this.snapSliced = true;
    this.holdWeakly(index, data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropUnclaimed(true);
    await this.background;
    await this.segments?.close();
    await this.db.close();
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StorageFailedError(`raft log at ${this.location} is closed`);
  }

  private async write(ops: BatchOp[], sync = true): Promise<void> {
    try {
      // The chained batch costs about a third of the CPU of db.batch(array) per
      // operation (no per-op option cloning), which matters at tens of thousands of
      // entries per second.
      const batch = this.db.batch();
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      await batch.write({ sync });
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** Once a synced write fails we cannot know what reached the disk: stop writing. */
  private failed(err: unknown): StorageFailedError {
    this.failure ??= new StorageFailedError(`synced write to the raft log at ${this.location} failed: ${(err as Error).message}`, { cause: err });
    return this.failure;
  }

  /**
   * Writes the image of the snapshot at `index` under its own keys, a slice per batch
   * (each synced, so that the record written next never names a lost slice), and
   * returns its checksum, computed slice by slice.
   */
  private async writeImage(index: number, data: Uint8Array): Promise<number> {
    // A clear of other images still running would take the new slices with it.
    await this.background;
    // Until a record names it, a partial image is one to clear with the others.
    this.staleImages.add(index);
    try {
      // Slices left by an attempt that crashed before its record was written.
      await this.db.clear({ gte: snapshotSliceKey(index, 0), lt: snapshotSliceKey(index + 1, 0) });
    } catch (err) {
      throw new StorageFailedError(`clearing snapshot slices in ${this.location} failed: ${(err as Error).message}`, { cause: err });
    }
    let crc = 0;
    for (let at = 0, n = 0; at < data.length; at += this.sliceBytes, n++) {
      this.checkWritable();
      const slice = data.subarray(at, Math.min(data.length, at + this.sliceBytes));
      crc = crc32(slice, crc);
      await this.write([{ type: 'put', key: snapshotSliceKey(index, n), value: slice }]);
    }
    return crc;
  }

  /**
   * Deletes, in the background, every stored image but the sliced one at `keep`. The
   * first call (at open) scans the whole image range; later ones delete only the images
   * this store wrote or replaced, so they never step over old tombstones.
   */
  private clearOtherImages(keep: number | undefined): void {
    let ranges: { gte?: Uint8Array; gt?: Uint8Array; lt: Uint8Array }[];
    if (!this.imagesScanned) {
      this.imagesScanned = true;
      const end = SNAPSHOT_IMAGES_END;
      ranges =
        keep === undefined
          ? [{ gt: KEY_SNAPSHOT_DATA, lt: end }]
          : [
              { gte: KEY_SNAPSHOT_DATA, lt: snapshotSliceKey(keep, 0) },
              { gte: snapshotSliceKey(keep + 1, 0), lt: end },
            ];
    } else {
      ranges = [];
      for (const index of this.staleImages) {
        if (index !== keep) ranges.push({ gte: snapshotSliceKey(index, 0), lt: snapshotSliceKey(index + 1, 0) });
      }
      this.staleImages.clear();
    }
    // An image stored whole under the old key stays until a sliced one replaces it.
    const dropWholeImage = keep !== undefined && this.wholeImageMayExist;
    if (keep === undefined) this.wholeImageMayExist = true;
    else this.staleImages.add(keep);
    if (ranges.length === 0 && !dropWholeImage) return;
    this.wholeImageMayExist &&= !dropWholeImage;
    this.background = this.background
      .then(async () => {
        if (dropWholeImage) await this.db.del(KEY_SNAPSHOT_DATA);
        for (const range of ranges) await this.db.clear(range);
      })
      .catch(() => {
        // Harmless: unnamed images are cleared again on the next open.
      });
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
      .then(() => this.db.clear({ gte: keys.key(from), lte: keys.key(index) }))
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
      value = this.db.getSync(this.keys!.key(index));
    } catch (err) {
      throw new StorageFailedError(`reading entry ${index} from ${this.location} failed: ${(err as Error).message}`, { cause: err });
    }
    if (value === undefined) throw new StoreCorruptError(this.location, `entry ${index} is missing inside the log [${this.start.index + 1}, ${this.last}]`);
    return checkedEntry(this.location, value, index);
  }
}

/** The LevelDB value (the entry's encoding: a record without its length) of entry `index` in a spool file. */
function spooledValue(spooled: SpooledEntries, index: number): Uint8Array {
  return readAt(spooled.fd, spooled.index.lengthOf(index), spooled.index.offsetOf(index));
}

function removeSpools(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (name.endsWith(SPOOL_SUFFIX)) unlinkSync(join(dir, name));
}

function discardSpooled(spooled: SpooledEntries): void {
  try {
    closeSync(spooled.fd);
    unlinkSync(spooled.path);
  } catch {
    // Gone already; a leftover spool file is deleted on the next open.
  }
}

function snapshotRecordOp(meta: SnapshotMeta, dataBytes: number, dataCrc: number): BatchOp {
  return { type: 'put', key: KEY_SNAPSHOT_META, value: encodeSnapshotRecord({ meta, dataBytes, dataCrc, sliced: true }) };
}

/** The record and image of a snapshot in one batch (the empty one of a fresh store). */
function snapshotOps(meta: SnapshotMeta, data: Uint8Array): BatchOp[] {
  return [
    { type: 'put', key: KEY_SNAPSHOT_META, value: encodeSnapshotRecord({ meta, dataBytes: data.length, dataCrc: checksum(data) }) },
    { type: 'put', key: KEY_SNAPSHOT_DATA, value: data },
  ];
}

function logStartOp(start: LogStart): BatchOp {
  return { type: 'put', key: KEY_LOG_START, value: encodeLogStart(start) };
}

function copyMeta(meta: SnapshotMeta): SnapshotMeta {
  return { index: meta.index, term: meta.term, conf: { voters: [...meta.conf.voters] } };
}

function checkedEntry(location: string, value: Uint8Array, index: number): Entry {
  let e: Entry;
  try {
    e = decodeEntry(value);
  } catch (err) {
    throw new StoreCorruptError(location, `entry ${index}: ${(err as Error).message}`);
  }
  if (e.index !== index) throw new StoreCorruptError(location, `entry stored under index ${index} says it is ${e.index}`);
  return e;
}

/** Reads and cross-checks everything a start needs, without loading the whole log. */
async function readState(db: Db, location: string, opts: DiskLogStoreOptions) {
  const corrupt = (detail: string) => new StoreCorruptError(location, detail);
  const decoded = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof CorruptValueError) throw corrupt(`${what}: ${err.message}`);
      throw err;
    }
  };

  let formatValue = await db.get(KEY_FORMAT);
  if (formatValue === undefined) {
    const any = await db.keys({ limit: 1 }).all();
    if (any.length > 0) throw corrupt('it holds data but no format record (not a raft log of this broker?)');
    const meta: SnapshotMeta = { index: 0, term: 0, conf: { voters: [...opts.conf.voters] } };
    const fresh = opts.entryLayout === 'leveldb' ? LEVELDB_ENTRIES_FORMAT : FORMAT_VERSION;
    formatValue = encodeFormat({ format: fresh, nodeId: opts.nodeId });
    await db.batch(
      [
        { type: 'put', key: KEY_FORMAT, value: formatValue },
        { type: 'put', key: KEY_HARD_STATE, value: encodeHardState({ term: 0, vote: '', commit: 0 }) },
        ...snapshotOps(meta, EMPTY),
      ],
      { sync: true },
    );
  }
  const format = decoded('format record', () => decodeFormat(formatValue));
  if (!READABLE_FORMATS.includes(format.format)) throw corrupt(`format version ${format.format}, this build reads ${READABLE_FORMATS.join(' and ')}`);
  const keys = format.format === SEGMENT_FORMAT ? undefined : entryKeysOf(format.format);
  if (format.nodeId !== opts.nodeId) throw corrupt(`it belongs to node ${format.nodeId}, not ${opts.nodeId}`);

  const hsValue = await db.get(KEY_HARD_STATE);
  if (hsValue === undefined) throw corrupt('hard state is missing');
  const hardState = decoded('hard state', () => decodeHardState(hsValue));

  const snapValue = await db.get(KEY_SNAPSHOT_META);
  if (snapValue === undefined) throw corrupt('snapshot metadata is missing');
  const snapRec = decoded('snapshot metadata', () => decodeSnapshotRecord(snapValue));
  const snapData = snapRec.sliced
    ? concatBytes(await db.values({ gte: snapshotSliceKey(snapRec.meta.index, 0), lt: snapshotSliceKey(snapRec.meta.index + 1, 0) }).all())
    : ((await db.get(KEY_SNAPSHOT_DATA)) ?? EMPTY);
  if (snapData.length !== snapRec.dataBytes || checksum(snapData) !== snapRec.dataCrc) {
    throw corrupt(`snapshot data at index ${snapRec.meta.index} does not match its length/checksum`);
  }
  const snap = snapRec.meta;
  const startValue = await db.get(KEY_LOG_START);
  const start: LogStart = startValue === undefined ? { index: snap.index, term: snap.term } : decoded('log start', () => decodeLogStart(startValue));
  if (start.index > snap.index) throw corrupt(`the log starts at ${start.index + 1}, after the snapshot at ${snap.index}`);
  const snapState = { hardState, snap, snapData, snapCrc: snapRec.dataCrc, snapSliced: snapRec.sliced === true, start };

  if (!keys) {
    const firstValue = await db.get(KEY_FIRST_SEGMENT);
    const firstSeq = firstValue === undefined ? 0 : decoded('first segment', () => decodeSegmentSeq(firstValue));
    let opened: Awaited<ReturnType<typeof SegmentLog.open>>;
    try {
      opened = await SegmentLog.open(join(location, SEGMENTS_DIR), firstSeq, start, { segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024 });
    } catch (err) {
      if (err instanceof SegmentCorruptError) throw corrupt(err.message);
      throw new StorageFailedError(`cannot open the segments of the raft log at ${location}: ${(err as Error).message}`, { cause: err });
    }
    const { log, repairedTail, scanned } = opened;
    const problem =
      log.last < snap.index
        ? `entries ${log.last + 1}..${snap.index} kept below the snapshot are missing`
        : hardState.commit > log.last
          ? `commit index ${hardState.commit} is beyond the last entry ${log.last}`
          : undefined;
    if (problem) {
      await log.close();
      throw corrupt(problem);
    }
    return { ...snapState, segments: log, repairedTail, scanned, keys, last: log.last, tail: [] as Entry[] };
  }

  // Snapshot streams this layout spooled (its entries go into LevelDB when installed)
  // and a crash left behind.
  removeSpools(join(location, SEGMENTS_DIR));
  const range = { gt: keys.key(start.index), lt: keys.end };
  const [firstKey] = await db.keys({ ...range, limit: 1 }).all();
  const [lastKey] = await db.keys({ ...range, limit: 1, reverse: true }).all();
  let last = start.index;
  const tail: Entry[] = [];
  if (firstKey !== undefined && lastKey !== undefined) {
    const first = keys.indexOf(firstKey);
    last = keys.indexOf(lastKey);
    if (first !== start.index + 1) throw corrupt(`log starts at ${first} but should start at ${start.index + 1}`);
    // Verify the tail we keep in memory: checksums, contiguity, terms never decreasing.
    const want = Math.min(last - first + 1, opts.cacheEntries ?? 16_384);
    const rows = await db.iterator({ ...range, reverse: true, limit: want }).all();
    let expect = last;
    for (const [key, value] of rows) {
      const index = keys.indexOf(key);
      if (index !== expect) throw corrupt(`entry ${expect} is missing (found ${index} next)`);
      const e = checkedEntry(location, value, index);
      if (tail.length > 0 && e.term > tail[tail.length - 1].term) throw corrupt(`term goes down after entry ${index}`);
      tail.push(e);
      expect--;
    }
    if (tail.length !== want) throw corrupt(`entries below ${expect + 1} are missing`);
    if (tail[tail.length - 1].term < start.term && tail[tail.length - 1].index === start.index + 1) {
      throw corrupt(`entry ${start.index + 1} has a term below the one before it`);
    }
    tail.reverse();
  }
  if (last < snap.index) throw corrupt(`entries ${last + 1}..${snap.index} kept below the snapshot are missing`);
  if (hardState.commit > last) throw corrupt(`commit index ${hardState.commit} is beyond the last entry ${last} (torn write?)`);
  return { ...snapState, segments: undefined, repairedTail: undefined, scanned: [], keys, last, tail };
}
