import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { concatBytes } from '../../bytes.js';
import type { Entry, HardState, SnapshotMeta } from '../../raft/types.js';
import { StorageFailedError, StoreCorruptError } from '../errors.js';
import {
  CorruptValueError,
  FORMAT_VERSION,
  KEY_FIRST_SEGMENT,
  KEY_FORMAT,
  KEY_HARD_STATE,
  KEY_LOG_START,
  KEY_SNAPSHOT_DATA,
  KEY_SNAPSHOT_META,
  LEVELDB_ENTRIES_FORMAT,
  READABLE_FORMATS,
  SEGMENT_FORMAT,
  checksum,
  decodeEntry,
  decodeFormat,
  decodeHardState,
  decodeLogStart,
  decodeSegmentSeq,
  decodeSnapshotRecord,
  encodeFormat,
  encodeHardState,
  encodeSnapshotRecord,
  entryKeysOf,
  snapshotSliceKey,
  type EntryKeys,
  type LogStart,
} from './codec.js';
import type { DiskLogStoreOptions } from './disk-log-store.js';
import { SEGMENTS_DIR, SPOOL_SUFFIX } from './segments/segment-format.js';
import { SegmentLog } from './segments/segment-log.js';
import { SegmentCorruptError, type RecoveredSegments } from './segments/segment-recovery.js';
import type { BatchOp, Db } from './store-records.js';

// Opening a log store: the records LevelDB holds, cross-checked with each other and with
// the entries (segment files, or LevelDB keys in a store of the older layout), so that a
// start never serves a log that lost or tore what it had acknowledged.

const EMPTY = new Uint8Array(0);

/** What a store starts from. */
export interface RecoveredState {
  hardState: HardState;
  snap: SnapshotMeta;
  snapData: Uint8Array;
  snapCrc: number;
  snapSliced: boolean;
  start: LogStart;
  segments: SegmentLog | undefined;
  repairedTail: RecoveredSegments['repairedTail'];
  scanned: RecoveredSegments['scanned'];
  keys: EntryKeys | undefined;
  last: number;
  /** The newest entries of a LevelDB-layout store, checked (empty with segments). */
  tail: Entry[];
}

export function checkedEntry(location: string, value: Uint8Array, index: number): Entry {
  let e: Entry;
  try {
    e = decodeEntry(value);
  } catch (err) {
    throw new StoreCorruptError(location, `entry ${index}: ${(err as Error).message}`);
  }
  if (e.index !== index) throw new StoreCorruptError(location, `entry stored under index ${index} says it is ${e.index}`);
  return e;
}

function removeSpools(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (name.endsWith(SPOOL_SUFFIX)) unlinkSync(join(dir, name));
}

/** The record and image of a snapshot in one batch (the empty one of a fresh store). */
function snapshotOps(meta: SnapshotMeta, data: Uint8Array): BatchOp[] {
  return [
    { type: 'put', key: KEY_SNAPSHOT_META, value: encodeSnapshotRecord({ meta, dataBytes: data.length, dataCrc: checksum(data) }) },
    { type: 'put', key: KEY_SNAPSHOT_DATA, value: data },
  ];
}

/** Reads and cross-checks everything a start needs, without loading the whole log. */
export async function readState(db: Db, location: string, opts: DiskLogStoreOptions): Promise<RecoveredState> {
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
    return { ...snapState, segments: log, repairedTail, scanned, keys, last: log.last, tail: [] };
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
