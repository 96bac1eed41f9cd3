// Opening the segments of a log: which files belong to it, where each entry lies, and
// the repair of a torn tail.
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { SegmentIndex } from './segment-index.js';
import { openSegmentSync, segmentPath, truncateFile, closeSegment, syncDir, type SegmentFile } from './segment-file.js';
import { MIN_RECORD_BODY, RECORD_PREFIX_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, segmentSeqOf } from './segment-format.js';

/** A segment that cannot be read although later ones exist: the log is damaged. */
export class SegmentCorruptError extends Error {}

export interface RecoveredSegments {
  /** The segments that hold entries of the log, oldest first (the last takes appends). */
  segments: SegmentFile[];
  index: SegmentIndex;
  /** The next segment number never used in this directory. */
  nextSeq: number;
  /** Set when the last segment ended in a partial or damaged record, cut off here. */
  repairedTail?: { seq: number; offset: number; droppedBytes: number; reason: string };
}

/**
 * Replays the segments from `firstSeq` on into an index of the log above `start`
 * (the entry just below the first stored one: its index and term).
 *
 * Records are read in the order they were written. A record at or below `start` is
 * compacted away and skipped; one at or below the last index seen replaces that entry
 * and everything after it (a conflicting suffix, rewritten by a newer leader), as
 * etcd's WAL replay does. A record that fails its length or checksum in the LAST
 * segment is a write the crash interrupted: nothing after it was ever acknowledged
 * (each Ready's records are one synced write, answered only once it returned), so the
 * file is cut there. The same damage in an earlier segment is corruption.
 *
 * Segments below `firstSeq` (replaced by an installed snapshot) are deleted.
 */
export async function recoverSegments(dir: string, firstSeq: number, start: { index: number; term: number }): Promise<RecoveredSegments> {
  mkdirSync(dir, { recursive: true });
  const seqs: number[] = [];
  let maxSeq = firstSeq - 1;
  let removed = false;
  for (const name of readdirSync(dir)) {
    const seq = segmentSeqOf(name);
    if (seq === undefined) continue;
    maxSeq = Math.max(maxSeq, seq);
    if (seq < firstSeq) {
      unlinkSync(segmentPath(dir, seq));
      removed = true;
    } else {
      seqs.push(seq);
    }
  }
  if (removed) await syncDir(dir);
  seqs.sort((a, b) => a - b);

  const index = new SegmentIndex(start.index + 1);
  const segments: SegmentFile[] = [];
  let repairedTail: RecoveredSegments['repairedTail'];
  const termAt = (i: number) => (i === start.index ? start.term : index.termOf(i));
  try {
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k];
      const isLast = k === seqs.length - 1;
      const bytes = readFileSync(segmentPath(dir, seq));
      const damaged = (offset: number, reason: string): number => {
        if (!isLast) throw new SegmentCorruptError(`segment ${seq} is damaged at byte ${offset}: ${reason}`);
        repairedTail = { seq, offset, droppedBytes: bytes.length - offset, reason };
        return offset;
      };
      let end = bytes.length;
      if (bytes.length < SEGMENT_HEADER_BYTES) {
        end = damaged(0, 'the header is incomplete');
      } else if (!bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC) || bytes.readUInt32BE(8) !== seq) {
        throw new SegmentCorruptError(`segment ${seq} has a wrong header`);
      } else {
        let at = SEGMENT_HEADER_BYTES;
        while (at < bytes.length) {
          if (at + RECORD_PREFIX_BYTES + MIN_RECORD_BODY > bytes.length) {
            end = damaged(at, 'a partial record');
            break;
          }
          const length = bytes.readUInt32BE(at);
          const body = at + RECORD_PREFIX_BYTES;
          if (length < MIN_RECORD_BODY || body + length > bytes.length) {
            end = damaged(at, `a record length of ${length} runs past the end`);
            break;
          }
          if (bytes.readUInt32BE(body) !== crc32(bytes.subarray(body + 4, body + length)) || bytes[body + 4] > 1) {
            end = damaged(at, 'a record fails its checksum');
            break;
          }
          const term = bytes.readDoubleBE(body + 5);
          const entryIndex = bytes.readDoubleBE(body + 13);
          if (entryIndex > start.index) {
            if (entryIndex > index.last + 1) {
              throw new SegmentCorruptError(`segment ${seq}: entry ${entryIndex} follows ${index.last}; entries in between are missing`);
            }
            index.truncateFrom(entryIndex);
            // Against `start` only once every record is read: start's term is the final
            // log's, and a record just above it may have been rewritten by a later one
            // (written at term 1, replaced at term 2, then compacted through the entry
            // below it: the term-1 record still comes first in the file).
            if (entryIndex - 1 > start.index) {
              const before = termAt(entryIndex - 1);
              if (term < before) throw new SegmentCorruptError(`segment ${seq}: entry ${entryIndex} has term ${term}, below the ${before} before it`);
            }
            index.push(entryIndex, term, seq, body, length);
          }
          at = body + length;
        }
      }
      if (end === 0) {
        // Not even a header reached the disk: the file was being created.
        unlinkSync(segmentPath(dir, seq));
        await syncDir(dir);
        continue;
      }
      const seg = openSegmentSync(dir, seq, end);
      segments.push(seg);
      if (end < bytes.length) await truncateFile(seg.fd, end);
    }
    if (index.last > start.index && index.termOf(start.index + 1) < start.term) {
      throw new SegmentCorruptError(`entry ${start.index + 1} has term ${index.termOf(start.index + 1)}, below the ${start.term} of the log start`);
    }
  } catch (err) {
    for (const seg of segments) closeSegment(seg);
    throw err;
  }
  return { segments, index, nextSeq: maxSeq + 1, ...(repairedTail ? { repairedTail } : {}) };
}
