// Binary layout of what the LevelDB log stores. Every value carries a CRC-32 of the
// rest of it, so a torn or bit-flipped value is detected instead of being used.
// Integers are stored as float64: exact up to 2^53, and DataView handles them fast.
import { crc32 } from 'node:zlib';
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from '../../raft/types.js';

/** Formats 1 and 2 keep every entry under its own LevelDB key (EntryKeys below). */
export const LEVELDB_ENTRIES_FORMAT = 2;
/** Format 3 keeps entries in append-only segment files beside the LevelDB (segments/),
 *  which holds the records below. */
export const SEGMENT_FORMAT = 3;
/** What this build writes into a new store. It reads formats 1 and 2 as well. */
export const FORMAT_VERSION = SEGMENT_FORMAT;
export const KEY_FORMAT = Uint8Array.of(0x6d); // 'm'
export const KEY_HARD_STATE = Uint8Array.of(0x68); // 'h'
export const KEY_SNAPSHOT_META = Uint8Array.of(0x73); // 's'
export const KEY_SNAPSHOT_DATA = Uint8Array.of(0x64); // 'd'
/** Where the stored log starts when a compaction kept entries below the snapshot.
 *  Absent: the log starts right after the snapshot (stores written before it existed). */
export const KEY_LOG_START = Uint8Array.of(0x6c); // 'l'
/** Format 3: the first segment that belongs to the log. An installed snapshot starts a
 *  new segment and moves this past the old ones in the batch that records it, so that
 *  entries the snapshot replaced are never read back, even if a crash left them on disk. */
export const KEY_FIRST_SEGMENT = Uint8Array.of(0x67); // 'g'

/** Thrown by a decoder when a value fails its checksum or shape. */
export class CorruptValueError extends Error {}

/**
 * Entry keys: a prefix byte + the index as 8 big-endian bytes, so LevelDB's byte order
 * is log order. Format 1 used 'e', which sorts below the hard-state and other record
 * keys; format 2 uses '~', above every other key. Why it matters: LevelDB moves a
 * level-0 file down for free only when no other file overlaps its key range. With
 * the records above the entries, a file holding a record spans every later entry,
 * so each new file overlapped it and the sequential log was rewritten over and over
 * (about 2 GB of compaction per GB written, in 137 MB bursts that stalled fsyncs).
 */
export class EntryKeys {
  /** The first key after every entry key (exclusive upper bound for range reads). */
  readonly end: Uint8Array;

  constructor(private readonly prefix: number) {
    this.end = Uint8Array.of(prefix + 1);
  }

  key(index: number): Uint8Array {
    const key = new Uint8Array(9);
    key[0] = this.prefix;
    writeIndex(key, 1, index);
    return key;
  }

  indexOf(key: Uint8Array): number {
    const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
    return view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
  }
}

const ENTRY_KEYS_BY_FORMAT = new Map<number, EntryKeys>([
  [1, new EntryKeys(0x65)], // 'e'
  [2, new EntryKeys(0x7e)], // '~'
]);

/** The formats this build opens. */
export const READABLE_FORMATS: readonly number[] = [...ENTRY_KEYS_BY_FORMAT.keys(), SEGMENT_FORMAT];

/** The entry keys of a store written in `format`. */
export function entryKeysOf(format: number): EntryKeys {
  const keys = ENTRY_KEYS_BY_FORMAT.get(format);
  if (!keys) throw new Error(`no entry key layout for format ${format}`);
  return keys;
}

/** An entry key of the newest format that keeps entries in LevelDB. */
export function entryKey(index: number): Uint8Array {
  return entryKeysOf(LEVELDB_ENTRIES_FORMAT).key(index);
}

function writeIndex(key: Uint8Array, at: number, index: number): void {
  const hi = Math.floor(index / 0x1_0000_0000);
  key[at] = hi >>> 24;
  key[at + 1] = (hi >>> 16) & 0xff;
  key[at + 2] = (hi >>> 8) & 0xff;
  key[at + 3] = hi & 0xff;
  key[at + 4] = index >>> 24;
  key[at + 5] = (index >>> 16) & 0xff;
  key[at + 6] = (index >>> 8) & 0xff;
  key[at + 7] = index & 0xff;
}

/**
 * One slice of the snapshot image taken at `index`: 'd' + index (8 bytes) + slice
 * number (4 bytes), all big-endian. A new image is written beside the old one under its
 * own index, so the old one stays whole until the record naming the new one is synced.
 * (The single key 'd' holds the image of stores written before images were sliced.)
 */
export function snapshotSliceKey(index: number, slice: number): Uint8Array {
  const key = new Uint8Array(13);
  key[0] = KEY_SNAPSHOT_DATA[0];
  writeIndex(key, 1, index);
  new DataView(key.buffer).setUint32(9, slice);
  return key;
}

/** The first key after every snapshot image key (whole or sliced). */
export const SNAPSHOT_IMAGES_END = Uint8Array.of(KEY_SNAPSHOT_DATA[0] + 1);

// entry: [crc32 u32][type u8][term f64][index f64][data...]
export const ENTRY_HEADER = 4 + 1 + 8 + 8;

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(ENTRY_HEADER + e.data.length);
  const view = new DataView(out.buffer);
  view.setUint8(4, e.type === 'config' ? 1 : 0);
  view.setFloat64(5, e.term);
  view.setFloat64(13, e.index);
  out.set(e.data, ENTRY_HEADER);
  view.setUint32(0, crc32(out.subarray(4)));
  return out;
}

export function decodeEntry(value: Uint8Array): Entry {
  if (value.length < ENTRY_HEADER) throw new CorruptValueError(`entry value of ${value.length} bytes is too short`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (view.getUint32(0) !== crc32(value.subarray(4))) throw new CorruptValueError('entry checksum mismatch');
  const typeByte = view.getUint8(4);
  if (typeByte > 1) throw new CorruptValueError(`unknown entry type ${typeByte}`);
  const type: EntryType = typeByte === 1 ? 'config' : 'normal';
  return { type, term: view.getFloat64(5), index: view.getFloat64(13), data: value.subarray(ENTRY_HEADER) };
}

// JSON-shaped small records: [crc32 u32][utf8 json]
function encodeRecord(obj: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const out = new Uint8Array(4 + json.length);
  out.set(json, 4);
  new DataView(out.buffer).setUint32(0, crc32(json));
  return out;
}

function decodeRecord(value: Uint8Array, what: string): unknown {
  if (value.length < 4) throw new CorruptValueError(`${what} record is too short`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const json = value.subarray(4);
  if (view.getUint32(0) !== crc32(json)) throw new CorruptValueError(`${what} checksum mismatch`);
  try {
    return JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw new CorruptValueError(`${what} is not valid JSON`);
  }
}

// hard state: [crc32 u32][term f64][commit f64][vote utf8]
export function encodeHardState(hs: HardState): Uint8Array {
  const vote = new TextEncoder().encode(hs.vote);
  const out = new Uint8Array(4 + 16 + vote.length);
  const view = new DataView(out.buffer);
  view.setFloat64(4, hs.term);
  view.setFloat64(12, hs.commit);
  out.set(vote, 20);
  view.setUint32(0, crc32(out.subarray(4)));
  return out;
}

export function decodeHardState(value: Uint8Array): HardState {
  if (value.length < 20) throw new CorruptValueError('hard state record is too short');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (view.getUint32(0) !== crc32(value.subarray(4))) throw new CorruptValueError('hard state checksum mismatch');
  const term = view.getFloat64(4);
  const commit = view.getFloat64(12);
  if (!isIndex(term) || !isIndex(commit)) throw new CorruptValueError('hard state holds a non-integer term or commit');
  return { term, commit, vote: new TextDecoder().decode(value.subarray(20)) };
}

export interface FormatRecord {
  format: number;
  nodeId: string;
}

export function encodeFormat(rec: FormatRecord): Uint8Array {
  return encodeRecord(rec);
}

export function decodeFormat(value: Uint8Array): FormatRecord {
  const rec = decodeRecord(value, 'format') as Partial<FormatRecord> | null;
  if (!rec || typeof rec.format !== 'number' || typeof rec.nodeId !== 'string') {
    throw new CorruptValueError('format record has the wrong shape');
  }
  return { format: rec.format, nodeId: rec.nodeId };
}

/** Snapshot metadata plus the length and checksum of the data stored beside it. */
export interface SnapshotRecord {
  meta: SnapshotMeta;
  dataBytes: number;
  dataCrc: number;
  /** The image is stored in slices under snapshotSliceKey(meta.index, n), not under 'd'. */
  sliced?: boolean;
}

export function encodeSnapshotRecord(rec: SnapshotRecord): Uint8Array {
  return encodeRecord(rec);
}

export function decodeSnapshotRecord(value: Uint8Array): SnapshotRecord {
  const rec = decodeRecord(value, 'snapshot metadata') as Partial<SnapshotRecord> | null;
  const meta = rec?.meta as Partial<SnapshotMeta> | undefined;
  const conf = meta?.conf as Partial<ConfState> | undefined;
  if (
    !rec ||
    !meta ||
    !isIndex(meta.index) ||
    !isIndex(meta.term) ||
    !conf ||
    !Array.isArray(conf.voters) ||
    !conf.voters.every((v) => typeof v === 'string') ||
    !isIndex(rec.dataBytes) ||
    typeof rec.dataCrc !== 'number'
  ) {
    throw new CorruptValueError('snapshot metadata has the wrong shape');
  }
  return {
    meta: { index: meta.index, term: meta.term, conf: { voters: [...conf.voters] } },
    dataBytes: rec.dataBytes,
    dataCrc: rec.dataCrc,
    ...(rec.sliced === true ? { sliced: true } : {}),
  };
}

/** The entry just below the first stored one: its index and term (like etcd's dummy entry). */
export interface LogStart {
  index: number;
  term: number;
}

export function encodeLogStart(start: LogStart): Uint8Array {
  return encodeRecord({ index: start.index, term: start.term });
}

export function decodeLogStart(value: Uint8Array): LogStart {
  const rec = decodeRecord(value, 'log start') as Partial<LogStart> | null;
  if (!rec || !isIndex(rec.index) || !isIndex(rec.term)) throw new CorruptValueError('log start has the wrong shape');
  return { index: rec.index, term: rec.term };
}

export function checksum(data: Uint8Array): number {
  return crc32(data);
}

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function encodeSegmentSeq(seq: number): Uint8Array {
  return encodeRecord({ seq });
}

export function decodeSegmentSeq(value: Uint8Array): number {
  const rec = decodeRecord(value, 'first segment') as { seq?: unknown } | null;
  if (!rec || !isIndex(rec.seq)) throw new CorruptValueError('first segment record has the wrong shape');
  return rec.seq;
}
