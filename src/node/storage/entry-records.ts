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
import { RECORD_PREFIX_BYTES, recordBytes, writeRecord } from './segments/segment-format.js';

const records = new WeakMap<Entry, Uint8Array>();

/** The record remembered for `e` (encoded here, or received as such), if any. */
export function knownRecord(e: Entry): Uint8Array | undefined {
  return records.get(e);
}

/** Remembers `record` (prefix included) as the record of `e`, read back from a segment. */
export function rememberRecord(e: Entry, record: Uint8Array): void {
  records.set(e, record);
}

/**
 * Encodes `ents` back to back into one buffer and remembers each entry's record. Each
 * entry's data is then pointed at its copy inside the record: the buffer it was
 * proposed in (a request's whole command, 100 KB for a batch of 100 kilobyte messages)
 * is no longer held beside its record by the log's caches for as long as the entry lives.
 */
export function encodeRecords(ents: readonly Entry[]): Buffer {
  let total = 0;
  for (const e of ents) total += recordBytes(e);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of ents) {
    const end = writeRecord(buf, at, e);
    records.set(e, buf.subarray(at, end));
    e.data = new Uint8Array(buf.buffer, buf.byteOffset + at + RECORD_PREFIX_BYTES + ENTRY_HEADER, e.data.length);
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
    if (at + RECORD_PREFIX_BYTES + ENTRY_HEADER > bytes.length) throw new CorruptValueError(`a record at byte ${at} is cut short`);
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
