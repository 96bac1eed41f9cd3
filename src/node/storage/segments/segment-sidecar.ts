// The index of a sealed segment, kept beside it in `<seq>.idx`, so that opening a log
// that retains gigabytes of entries reads a few bytes per entry instead of every record.
//
//   header:  "MOMIDX\0\1" (8) | sequence u32 | record count u32 | segment bytes f64
//   records: index f64 | term f64 | offset of the record's body f64 | body length u32
//   trailer: crc32 u32 over everything before it
//
// A sidecar lists the entries of its segment that were live when it was written (the
// segment's run in the log's index, oldest first): replaying them gives the index the
// records themselves would give (a segment's live records are one contiguous run that
// starts at the lowest index the segment holds; anything the run leaves out was
// replaced or compacted). It is only a shortcut: one that is missing, damaged, or
// written for a different file size is ignored and the segment is scanned instead.
import { fsync, open, close, readFileSync, rename, unlink, write } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SegmentIndex } from './segment-index.js';

export const SIDECAR_MAGIC = Buffer.from('MOMIDX\0\x01', 'latin1');
const HEADER_BYTES = 24;
export const SIDECAR_RECORD_BYTES = 28;
const TRAILER_BYTES = 4;

const NAME = /^(\d{16})\.idx$/;

export function sidecarFileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.idx`;
}

/** The sequence number in a sidecar file name, or undefined for any other file. */
export function sidecarSeqOf(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function sidecarPath(dir: string, seq: number): string {
  return join(dir, sidecarFileName(seq));
}

/** One entry as a sidecar lists it. */
export interface SidecarRecord {
  index: number;
  term: number;
  /** Byte offset of the record's body (after its length prefix) in the segment. */
  offset: number;
  length: number;
}

/** The bytes of the sidecar of segment `seq` (`segmentBytes` long), listing the entries
 *  [run.first, run.last] of `index`. */
export function encodeSidecar(seq: number, segmentBytes: number, index: SegmentIndex, run: { first: number; last: number }): Buffer {
  const count = Math.max(0, run.last - run.first + 1);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + count * SIDECAR_RECORD_BYTES + TRAILER_BYTES);
  SIDECAR_MAGIC.copy(buf, 0);
  buf.writeUInt32BE(seq, 8);
  buf.writeUInt32BE(count, 12);
  buf.writeDoubleBE(segmentBytes, 16);
  let at = HEADER_BYTES;
  for (let i = run.first; i <= run.last; i++) {
    buf.writeDoubleBE(i, at);
    buf.writeDoubleBE(index.termOf(i), at + 8);
    buf.writeDoubleBE(index.offsetOf(i), at + 16);
    buf.writeUInt32BE(index.lengthOf(i), at + 24);
    at += SIDECAR_RECORD_BYTES;
  }
  buf.writeUInt32BE(crc32(buf.subarray(0, at)), at);
  return buf;
}

/** The run of segment `seq` at the end of `index` (the segment being sealed is the last). */
export function liveRunOf(index: SegmentIndex, seq: number): { first: number; last: number } {
  let first = index.last + 1;
  while (first > index.first && index.seqOf(first - 1) === seq) first--;
  return { first, last: index.last };
}

/** A sidecar read back: its records, or why it cannot be used. */
export type SidecarRead = { ok: true; count: number; record(k: number): SidecarRecord } | { ok: false; reason: string };

/** Reads and checks the sidecar of segment `seq`, whose file is `segmentBytes` long. */
export function readSidecar(dir: string, seq: number, segmentBytes: number): SidecarRead {
  let buf: Buffer;
  try {
    buf = readFileSync(sidecarPath(dir, seq));
  } catch {
    return { ok: false, reason: 'no sidecar' };
  }
  if (buf.length < HEADER_BYTES + TRAILER_BYTES || !buf.subarray(0, SIDECAR_MAGIC.length).equals(SIDECAR_MAGIC)) {
    return { ok: false, reason: 'the sidecar has no valid header' };
  }
  const count = buf.readUInt32BE(12);
  const end = HEADER_BYTES + count * SIDECAR_RECORD_BYTES;
  if (buf.length !== end + TRAILER_BYTES) return { ok: false, reason: 'the sidecar has a wrong length' };
  if (buf.readUInt32BE(end) !== crc32(buf.subarray(0, end))) return { ok: false, reason: 'the sidecar fails its checksum' };
  if (buf.readUInt32BE(8) !== seq) return { ok: false, reason: 'the sidecar names another segment' };
  if (buf.readDoubleBE(16) !== segmentBytes) return { ok: false, reason: 'the sidecar was written for another size of the segment' };
  return {
    ok: true,
    count,
    record(k) {
      const at = HEADER_BYTES + k * SIDECAR_RECORD_BYTES;
      return { index: buf.readDoubleBE(at), term: buf.readDoubleBE(at + 8), offset: buf.readDoubleBE(at + 16), length: buf.readUInt32BE(at + 24) };
    },
  };
}

/** Writes the sidecar durably: a temporary file synced, then renamed over the name (the
 *  caller syncs the directory). A crash leaves the old sidecar, none, or the new one. */
export async function writeSidecar(dir: string, seq: number, bytes: Buffer): Promise<void> {
  const path = sidecarPath(dir, seq);
  const tmp = `${path}.tmp`;
  const fd = await new Promise<number>((resolve, reject) => open(tmp, 'w', 0o644, (err, f) => (err ? reject(err) : resolve(f))));
  try {
    for (let done = 0; done < bytes.length; ) {
      done += await new Promise<number>((resolve, reject) =>
        write(fd, bytes, done, bytes.length - done, done, (err, n) => (err ? reject(err) : resolve(n))),
      );
    }
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
  await new Promise<void>((resolve, reject) => rename(tmp, path, (err) => (err ? reject(err) : resolve())));
}

export function removeSidecar(dir: string, seq: number): Promise<void> {
  return new Promise((resolve, reject) => unlink(sidecarPath(dir, seq), (err) => (err && err.code !== 'ENOENT' ? reject(err) : resolve())));
}
