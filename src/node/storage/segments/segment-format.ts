// The bytes of a segment file, written once here and read by the writer, the reader
// and recovery.
//
// A segment is a 16-byte header followed by records, appended and never rewritten:
//   header: "MOMSEG\0\1" (8 bytes) | sequence number (u32 BE) | reserved (u32, 0)
//   record: length (u32 BE) | the entry as codec.ts encodes it
//           ([crc32 u32][type u8][term f64][index f64][data...], crc over the rest)
// The length bounds the record; the checksum tells a whole record from a torn or
// bit-flipped one. A record never spans two segments.
import { crc32 } from 'node:zlib';
import type { Entry } from '../../../raft/types.js';
import { ENTRY_HEADER } from '../codec.js';

/** The directory of the segment files, inside the store's directory (LevelDB ignores it). */
export const SEGMENTS_DIR = 'segments';

export const SEGMENT_MAGIC = Buffer.from('MOMSEG\0\x01', 'latin1');
export const SEGMENT_HEADER_BYTES = 16;
/** The length prefix in front of each entry. */
export const RECORD_PREFIX_BYTES = 4;
/** Bytes of the smallest possible record's body (an entry without data). */
export const MIN_RECORD_BODY = ENTRY_HEADER;

const NAME = /^(\d{16})\.seg$/;

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

/** A segment adopted from a snapshot stream, renamed into place but not yet named by
 *  the store's records (see DiskLogStore's install). */
export function adoptionFileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.adopt`;
}

/** Files a snapshot stream is spooled to while it arrives (deleted on open: a stream
 *  never resumes across a restart). */
export const SPOOL_SUFFIX = '.spool';

const ADOPTION_NAME = /^(\d{16})\.adopt$/;

export function adoptionSeqOf(name: string): number | undefined {
  const m = ADOPTION_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The sequence number in a segment file name, or undefined for any other file. */
export function segmentSeqOf(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function segmentHeader(seq: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32BE(seq, 8);
  return header;
}

/** Bytes a record puts in front of its entry's data: the length prefix and the entry header. */
export const RECORD_HEAD_BYTES = RECORD_PREFIX_BYTES + ENTRY_HEADER;

/** Bytes a record of `e` takes on disk (prefix included). */
export function recordBytes(e: Entry): number {
  return RECORD_HEAD_BYTES + e.data.length;
}

/** Writes the record of `e` into `buf` at `at`; returns the offset after it. */
export function writeRecord(buf: Buffer, at: number, e: Entry): number {
  buf.set(e.data, at + RECORD_HEAD_BYTES);
  return writeRecordHead(buf, at, e);
}

/** Writes the head of `e`'s record (length, checksum, entry header) at `at`, where
 *  `e.data` already lies RECORD_HEAD_BYTES further on; returns the offset after the record. */
export function writeRecordHead(buf: Buffer, at: number, e: Entry): number {
  const body = at + RECORD_PREFIX_BYTES;
  const bodyLength = ENTRY_HEADER + e.data.length;
  buf.writeUInt32BE(bodyLength, at);
  buf[body + 4] = e.type === 'config' ? 1 : 0;
  buf.writeDoubleBE(e.term, body + 5);
  buf.writeDoubleBE(e.index, body + 13);
  buf.writeUInt32BE(crc32(buf.subarray(body + 4, body + bodyLength)), body);
  return body + bodyLength;
}
