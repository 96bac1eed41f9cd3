// Entries as the log stores them (segment-format.ts), encoded once: the leader
// encodes a Ready's new entries into one buffer before sending them; the same bytes
// go to its segment and, inside append messages, to the followers, which check each
// record's checksum and write the bytes as received. Nothing is re-encoded per hop.
//
// The record of an entry is remembered beside the entry object (a WeakMap: the core's
// Entry type stays as it is, and the record goes when the entry does).
import { crc32 } from 'node:zlib';
import type { Entry } from '../../raft/types.js';
import { CorruptValueError, ENTRY_HEADER } from './codec.js';
import { RECORD_HEAD_BYTES, RECORD_PREFIX_BYTES, recordBytes, writeRecord, writeRecordHead } from './segments/segment-format.js';

const records = new WeakMap<Entry, Uint8Array>();
/** Entry data with its record's head room free in front of it (offerRecordRoom). */
const roomy = new WeakSet<Uint8Array>();

/** Entry data from this size on gets its record written around it (offerRecordRoom);
 *  smaller entries keep sharing one buffer of records per Ready: a buffer of its own
 *  for every kilobyte-sized entry in the log's caches would cost more than the copy. */
export const IN_PLACE_RECORD_MIN_BYTES = 8 * 1024;

/**
 * Says that the RECORD_HEAD_BYTES in front of `data` are free, so that its record can
 * be written around it (encodeRecords) instead of copying it. Taken only when `data`
 * and that room fill a buffer of their own (a record never pins a buffer shared with
 * other data, such as a pooled slice, while the log's caches hold it) and `data` holds
 * at least IN_PLACE_RECORD_MIN_BYTES.
 */
export function offerRecordRoom(data: Uint8Array): void {
  if (data.length < IN_PLACE_RECORD_MIN_BYTES) return;
  if (data.byteOffset === RECORD_HEAD_BYTES && data.byteOffset + data.length === data.buffer.byteLength) roomy.add(data);
}

/** The record remembered for `e` (encoded here, or received as such), if any. */
export function knownRecord(e: Entry): Uint8Array | undefined {
  return records.get(e);
}

/** Remembers `record` (prefix included) as the record of `e`, read back from a segment. */
export function rememberRecord(e: Entry, record: Uint8Array): void {
  records.set(e, record);
}

/**
 * Encodes the records of `ents` and remembers each entry's record. Data offered room
 * (offerRecordRoom: a proposed command, 100 KB for a batch of 100 kilobyte messages)
 * gets its record's head written in front of it, in its own buffer: nothing is copied.
 * The others are encoded back to back into one buffer (returned), and each entry's data
 * is pointed at its copy inside the record: the buffer it was proposed in is not held
 * beside its record by the log's caches for as long as the entry lives.
 */
export function encodeRecords(ents: readonly Entry[]): Buffer {
  let total = 0;
  for (const e of ents) if (!roomy.has(e.data)) total += recordBytes(e);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of ents) {
    if (roomy.delete(e.data)) {
      const record = Buffer.from(e.data.buffer, 0, RECORD_HEAD_BYTES + e.data.length);
      writeRecordHead(record, 0, e);
      records.set(e, record);
      continue;
    }
    const end = writeRecord(buf, at, e);
    records.set(e, buf.subarray(at, end));
    e.data = new Uint8Array(buf.buffer, buf.byteOffset + at + RECORD_HEAD_BYTES, e.data.length);
    at = end;
  }
  return buf;
}

/**
 * The records of `ents`, in order, as views of the buffers that hold them: records
 * lying one after the other in one buffer (the usual case: one Ready's entries, or one
 * received message's) make one run. Records already encoded are not encoded again;
 * entries without a record are encoded now.
 */
export function recordRuns(ents: readonly Entry[]): Uint8Array[] {
  const runs: Uint8Array[] = [];
  let buffer: ArrayBufferLike | undefined;
  let start = 0;
  let end = 0;
  for (const e of ents) {
    const r = records.get(e) ?? encodeRecords([e]);
    if (r.buffer === buffer && r.byteOffset === end) {
      end += r.length;
      continue;
    }
    if (buffer) runs.push(new Uint8Array(buffer, start, end - start));
    buffer = r.buffer;
    start = r.byteOffset;
    end = start + r.length;
  }
  if (buffer) runs.push(new Uint8Array(buffer, start, end - start));
  return runs;
}

/** The records of `ents` back to back in one array: a view when they form one run
 *  (recordRuns), else the runs copied together. */
export function recordsOf(ents: readonly Entry[]): Uint8Array {
  const runs = recordRuns(ents);
  if (runs.length === 0) return new Uint8Array(0);
  return runs.length === 1 ? runs[0] : Buffer.concat(runs);
}

/** Parses records back to back (as recordsOf gives them), checking every checksum; the
 *  entries remember their records, so that writing them copies nothing. */
export function decodeRecords(bytes: Uint8Array): Entry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Entry[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + RECORD_HEAD_BYTES > bytes.length) throw new CorruptValueError(`a record at byte ${at} is cut short`);
    const length = view.getUint32(at);
    const body = at + RECORD_PREFIX_BYTES;
    if (length < ENTRY_HEADER || body + length > bytes.length) throw new CorruptValueError(`a record at byte ${at} has a bad length ${length}`);
    if (view.getUint32(body) !== crc32(bytes.subarray(body + 4, body + length))) throw new CorruptValueError(`the record at byte ${at} fails its checksum`);
    const typeByte = bytes[body + 4];
    if (typeByte > 1) throw new CorruptValueError(`unknown entry type ${typeByte}`);
    const e: Entry = {
      term: view.getFloat64(body + 5),
      index: view.getFloat64(body + 13),
      type: typeByte === 1 ? 'config' : 'normal',
      data: bytes.subarray(body + ENTRY_HEADER, body + length),
    };
    records.set(e, bytes.subarray(at, body + length));
    out.push(e);
    at = body + length;
  }
  return out;
}
