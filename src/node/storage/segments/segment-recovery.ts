// Opening the segments of a log: which files belong to it, where each entry lies (from
// the sidecars of sealed segments, else from their records), the repair of a torn
// tail, and what a crash left of an install (an adopted segment, a spool).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SegmentIndex } from './segment-index.js';
import { openSegmentSync, readAt, segmentPath, truncateFile, closeSegment, syncDir, type SegmentFile } from './segment-file.js';
import { encodeSidecar, liveRunOf, readSidecar, sidecarPath, sidecarSeqOf, writeSidecar } from './segment-sidecar.js';
import { zeroFrom } from './segment-zeroes.js';
import { adoptionFileName, adoptionSeqOf, SPOOL_SUFFIX, MIN_RECORD_BODY, RECORD_PREFIX_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, segmentSeqOf } from './segment-format.js';

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
  /** The segments read record by record (the last one unless it is sealed, and sealed
   *  ones whose sidecar was missing or unusable: theirs is written again), with why. */
  scanned: { seq: number; reason: string }[];
  /** Set when the last segment is sealed (its sidecar matches it): it takes no appends. */
  lastSealed: boolean;
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
  // A segment adopted from a snapshot stream: when the records name it as the first
  // segment, the install got that far and its last step (the rename) is done now;
  // otherwise the install never happened and the file is dropped.
  for (const name of readdirSync(dir)) {
    const seq = adoptionSeqOf(name);
    if (seq === undefined) continue;
    if (seq === firstSeq && !existsSync(segmentPath(dir, seq))) renameSync(join(dir, name), segmentPath(dir, seq));
    else unlinkSync(join(dir, adoptionFileName(seq)));
    removed = true;
  }
  const names = readdirSync(dir);
  const sidecars: number[] = [];
  for (const name of names) {
    if (name.endsWith('.idx.tmp') || name.endsWith(SPOOL_SUFFIX)) {
      // A sidecar being written, or a snapshot stream being received, when the process stopped.
      unlinkSync(join(dir, name));
      removed = true;
      continue;
    }
    const sidecarSeq = sidecarSeqOf(name);
    if (sidecarSeq !== undefined) sidecars.push(sidecarSeq);
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
  seqs.sort((a, b) => a - b);
  // Sidecars of segments gone (the last segment's is checked against its size below).
  const sealed = new Set(seqs);
  for (const seq of sidecars) {
    if (sealed.has(seq)) continue;
    unlinkSync(sidecarPath(dir, seq));
    removed = true;
  }
  if (removed) await syncDir(dir);

  const index = new SegmentIndex(start.index + 1);
  const segments: SegmentFile[] = [];
  let repairedTail: RecoveredSegments['repairedTail'];
  const scanned: RecoveredSegments['scanned'] = [];
  let sidecarsWritten = false;
  let lastSealed = false;
  const termAt = (i: number) => (i === start.index ? start.term : index.termOf(i));
  /** Set while the records read last lie beyond the end of the index (see replay). */
  let gap: string | undefined;
  /** Takes one record (read from the segment or its sidecar) into the index. */
  const replay = (seq: number, entryIndex: number, term: number, body: number, length: number): void => {
    if (entryIndex <= start.index) return; // compacted away
    if (entryIndex > index.last + 1) {
      // Entries in between are missing, unless a later record rewinds below this one:
      // a segment whose records were all replaced is deleted by compaction, and the
      // next one may begin with records a rewrite further down made dead (written
      // 5..9, then 1.. again at a newer term in the same segment).
      gap ??= `segment ${seq}: entry ${entryIndex} follows ${index.last}; entries in between are missing`;
      return;
    }
    gap = undefined;
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
  };
  try {
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k];
      const isLast = k === seqs.length - 1;
      // A segment with a usable sidecar is sealed: the sidecar spares reading its records.
      const size = statSync(segmentPath(dir, seq)).size;
      const sidecar = readSidecar(dir, seq, size);
      if (sidecar.ok) {
        const seg = openSegmentSync(dir, seq, size);
        segments.push(seg);
        const header = size >= SEGMENT_HEADER_BYTES ? readAt(seg.fd, SEGMENT_HEADER_BYTES, 0) : Buffer.alloc(0);
        if (!header.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC) || header.readUInt32BE(8) !== seq) {
          throw new SegmentCorruptError(`segment ${seq} has a wrong header`);
        }
        for (let r = 0; r < sidecar.count; r++) {
          const rec = sidecar.record(r);
          if (rec.offset < SEGMENT_HEADER_BYTES + RECORD_PREFIX_BYTES || rec.offset + rec.length > size) {
            throw new SegmentCorruptError(`the sidecar of segment ${seq} places entry ${rec.index} outside the file`);
          }
          replay(seq, rec.index, rec.term, rec.offset, rec.length);
        }
        // The newest segment sealed (the next segment was never created, or it is an
        // adopted one): appends go to a new segment.
        if (isLast) lastSealed = true;
        continue;
      }
      if (isLast && sidecar.reason !== 'no sidecar') {
        // The segment took appends after its sidecar was written: it describes an older size.
        unlinkSync(sidecarPath(dir, seq));
        sidecarsWritten = true;
      }
      scanned.push({ seq, reason: isLast ? 'the last segment' : sidecar.reason });
      const bytes = readFileSync(segmentPath(dir, seq));
      const damaged = (offset: number, reason: string): number => {
        if (!isLast) throw new SegmentCorruptError(`segment ${seq} is damaged at byte ${offset}: ${reason}`);
        repairedTail = { seq, offset, droppedBytes: bytes.length - offset, reason };
        return offset;
      };
      let end = bytes.length;
      /** Zeros written ahead of the last record (segment-zeroes.ts): kept, not a repair. */
      let zeroTail = false;
      if (bytes.length < SEGMENT_HEADER_BYTES) {
        end = damaged(0, 'the header is incomplete');
      } else if (!bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC) || bytes.readUInt32BE(8) !== seq) {
        throw new SegmentCorruptError(`segment ${seq} has a wrong header`);
      } else {
        let at = SEGMENT_HEADER_BYTES;
        while (at < bytes.length) {
          if (isLast && bytes[at] === 0 && zeroFrom(bytes, at)) {
            end = at;
            zeroTail = true;
            break;
          }
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
          replay(seq, bytes.readDoubleBE(body + 13), bytes.readDoubleBE(body + 5), body, length);
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
      if (zeroTail) seg.allocated = bytes.length;
      else if (end < bytes.length) await truncateFile(seg.fd, end);
      if (!isLast) {
        // Its sidecar was missing or unusable: write it again from what was just read.
        await writeSidecar(dir, seq, encodeSidecar(seq, end, index, liveRunOf(index, seq)));
        sidecarsWritten = true;
      }
    }
    if (gap) throw new SegmentCorruptError(gap);
    if (sidecarsWritten) await syncDir(dir);
    if (index.last > start.index && index.termOf(start.index + 1) < start.term) {
      throw new SegmentCorruptError(`entry ${start.index + 1} has term ${index.termOf(start.index + 1)}, below the ${start.term} of the log start`);
    }
  } catch (err) {
    for (const seg of segments) closeSegment(seg);
    throw err;
  }
  index.trim();
  return { segments, index, nextSeq: maxSeq + 1, scanned, lastSealed, ...(repairedTail ? { repairedTail } : {}) };
}
