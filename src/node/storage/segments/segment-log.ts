// The write path of the entry log: records appended to segment files, one synced
// write per save, and entries read back by (segment, offset).
import type { Entry } from '../../../raft/types.js';
import { CorruptValueError, decodeEntry } from '../codec.js';
import { closeSegment, createSegment, readAt, removeSegment, syncDir, writeAll, writevAll, writevAllSync, type SegmentFile } from './segment-file.js';
import { LoopWrites } from './loop-writes.js';
import { recordRuns, rememberRecord } from '../entry-records.js';
import { RECORD_PREFIX_BYTES, recordBytes, segmentHeader, SEGMENT_HEADER_BYTES } from './segment-format.js';
import { recoverSegments, type RecoveredSegments } from './segment-recovery.js';
import type { SegmentIndex } from './segment-index.js';
import { encodeSidecar, liveRunOf, removeSidecar, writeSidecar } from './segment-sidecar.js';
import { afterAppend, beforeAppend, cutZeroes, settleZeroes } from './segment-zeroes.js';

export interface SegmentLogOptions {
  /** A segment that reached this size takes no more records; the next save starts a new one. */
  segmentBytes: number;
}

/**
 * The entries of the log above its start, in append-only segment files under one
 * directory (see the storage README for the layout and why).
 *
 * append() writes a whole batch as ONE write to the newest segment (opened O_DSYNC,
 * so the write returns once durable) and only then records where each entry lies.
 * The bytes written are the entries' records as already encoded (entry-records.ts).
 * Entries that replace a suffix are simply appended again: the index points at the
 * newest copy, and recovery replays the files in order to the same answer. Whole
 * segments are deleted once the log no longer reaches into them.
 */
export class SegmentLog {
  private readonly bySeq = new Map<number, SegmentFile>();
  private segments: SegmentFile[];
  private nextSeq: number;
  /** Segments being deleted: a new one may not be created while its directory entry is in flux. */
  private removals: Promise<void> = Promise.resolve();
  /** The first segment of the log as the store's records name it. */
  private firstSeq: number;
  /** A segment that takes no appends although it is the newest (an adopted one, whose
   *  sidecar is already written): the next append starts a new segment. */
  private sealedSeq: number | undefined;
  private readonly loopWrites = new LoopWrites();

  private constructor(
    readonly dir: string,
    private readonly index: SegmentIndex,
    recovered: RecoveredSegments,
    private readonly opts: SegmentLogOptions,
    firstSeq: number,
  ) {
    this.firstSeq = firstSeq;
    if (recovered.lastSealed) this.sealedSeq = recovered.segments.at(-1)?.seq;
    this.segments = recovered.segments;
    for (const seg of this.segments) this.bySeq.set(seg.seq, seg);
    this.nextSeq = recovered.nextSeq;
  }

  /** Opens the log in `dir` (see recoverSegments); `firstSeq` comes from the store's records. */
  static async open(dir: string, firstSeq: number, start: { index: number; term: number }, opts: SegmentLogOptions) {
    const recovered = await recoverSegments(dir, firstSeq, start);
    return { log: new SegmentLog(dir, recovered.index, recovered, opts, firstSeq), repairedTail: recovered.repairedTail, scanned: recovered.scanned };
  }

  get last(): number {
    return this.index.last;
  }

  has(index: number): boolean {
    return this.index.has(index);
  }

  term(index: number): number {
    return this.index.termOf(index);
  }

  /** Reads the entry at `index` from its segment (the caller checks the range). */
  read(index: number): Entry {
    const seg = this.bySeq.get(this.index.seqOf(index));
    if (!seg) throw new Error(`entry ${index} lies in segment ${this.index.seqOf(index)}, which is not open`);
    // The whole record, length prefix included: sent on to a follower as it is.
    const length = this.index.lengthOf(index);
    const record = readAt(seg.fd, RECORD_PREFIX_BYTES + length, this.index.offsetOf(index) - RECORD_PREFIX_BYTES);
    if (record.readUInt32BE(0) !== length) throw new CorruptValueError(`the length of the record for entry ${index} changed on disk`);
    const e = decodeEntry(record.subarray(RECORD_PREFIX_BYTES));
    if (e.index !== index) throw new Error(`the record for entry ${index} holds entry ${e.index}`);
    rememberRecord(e, record);
    return e;
  }

  /**
   * Appends `ents` (contiguous; ents[0].index at most last + 1, replacing anything at
   * or after it) durably. On failure nothing is recorded in memory and the caller must
   * stop writing: what reached the disk is unknown until the next open repairs it.
   * `mayBlock`: a small batch may be written on the event loop (loop-writes.ts).
   */
  async append(ents: Entry[], mayBlock = false): Promise<void> {
    if (ents.length === 0) return;
    let seg = this.segments.at(-1);
    if (!seg || seg.size >= this.opts.segmentBytes || seg.seq === this.sealedSeq) seg = await this.roll();
    // The records as the leader encoded them (and a follower received them), when known:
    // views of the buffers that hold them, written with one writev.
    const runs = recordRuns(ents);
    let bytes = 0;
    for (const r of runs) bytes += r.length;
    const position = seg.size;
    const zeroing = beforeAppend(seg, position + bytes);
    if (zeroing) await zeroing;
    if (mayBlock && this.loopWrites.allows(bytes)) {
      const fd = seg.fd;
      this.loopWrites.run(() => writevAllSync(fd, runs, position));
    } else {
      await writevAll(seg.fd, runs, position);
    }
    seg.size += bytes;
    afterAppend(seg, bytes, this.opts.segmentBytes);
    this.index.truncateFrom(ents[0].index);
    let offset = position;
    for (const e of ents) {
      const length = recordBytes(e) - RECORD_PREFIX_BYTES;
      this.index.push(e.index, e.term, seg.seq, offset + RECORD_PREFIX_BYTES, length);
      offset += RECORD_PREFIX_BYTES + length;
    }
  }

  /** The number the next segment will take: an installed snapshot records it as the
   *  first segment of the log before calling startOver(). */
  peekNextSeq(): number {
    return this.nextSeq;
  }

  /** After a snapshot at `snapIndex` was recorded with first segment peekNextSeq():
   *  forgets every entry and deletes the older segments. */
  startOver(snapIndex: number): void {
    this.firstSeq = this.nextSeq;
    this.index.reset(snapIndex + 1);
    const old = this.segments;
    this.segments = [];
    this.removeInBackground(old);
  }

  /**
   * The number an adopted segment takes: a number no segment of this directory had,
   * above the first segment the records name now (so that a crash before the records
   * name it leaves a file the next open can tell from the log's own: see adopt()).
   */
  adoptionSeq(): number {
    return Math.max(this.nextSeq, this.firstSeq + 1);
  }

  /**
   * After a snapshot was recorded with first segment `file.seq` (adoptionSeq()): the
   * log becomes the entries `index` describes, in `file` (already renamed into place,
   * its sidecar written), and every older segment is deleted. The file takes no appends.
   */
  adopt(file: SegmentFile, index: SegmentIndex): void {
    this.index.adoptFrom(index, file.seq);
    const old = this.segments;
    this.segments = [file];
    this.bySeq.set(file.seq, file);
    this.firstSeq = file.seq;
    this.nextSeq = Math.max(this.nextSeq, file.seq + 1);
    this.sealedSeq = file.seq;
    this.removeInBackground(old);
  }

  /** The records of entries [lo, hi) back to back, as they lie on disk (length prefixes
   *  included), read with one system call per run of adjacent records. */
  readRecords(lo: number, hi: number): Buffer {
    const parts: Buffer[] = [];
    let i = lo;
    while (i < hi) {
      const seq = this.index.seqOf(i);
      const seg = this.bySeq.get(seq);
      if (!seg) throw new Error(`entry ${i} lies in segment ${seq}, which is not open`);
      const from = this.index.offsetOf(i) - RECORD_PREFIX_BYTES;
      let end = this.index.offsetOf(i) + this.index.lengthOf(i);
      let j = i + 1;
      while (j < hi && this.index.seqOf(j) === seq && this.index.offsetOf(j) - RECORD_PREFIX_BYTES === end) {
        end = this.index.offsetOf(j) + this.index.lengthOf(j);
        j++;
      }
      parts.push(readAt(seg.fd, end - from, from));
      i = j;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Bytes the record of entry `index` takes, length prefix included. */
  recordBytesOf(index: number): number {
    return RECORD_PREFIX_BYTES + this.index.lengthOf(index);
  }

  /** The log now starts above `index`: deletes the segments that hold nothing later. */
  dropThrough(index: number): void {
    this.index.dropBelow(index + 1);
    const keepFrom = this.index.size > 0 ? this.index.seqOf(this.index.first) : (this.segments.at(-1)?.seq ?? 0);
    const k = this.segments.findIndex((s) => s.seq >= keepFrom);
    const old = k < 0 ? [] : this.segments.slice(0, k);
    if (old.length === 0) return;
    this.segments = this.segments.slice(k);
    this.removeInBackground(old);
  }

  async close(): Promise<void> {
    await this.removals;
    // A clean stop leaves the newest segment as long as its records (a crash leaves
    // the zeros, which the next open reads as the end of the log).
    for (const seg of this.segments) await cutZeroes(seg);
    for (const seg of this.segments) closeSegment(seg);
    this.segments = [];
    this.bySeq.clear();
  }

  /**
   * Starts the next segment: the current one's sidecar (its index) written, synced and
   * its name synced, so that the segment counts as sealed only with its index on disk;
   * then the new file's header written and synced, and its directory entry synced.
   * A crash in between leaves a sealed segment without a sidecar at worst: it is then
   * read record by record on the next open and its sidecar written again.
   */
  private async roll(): Promise<SegmentFile> {
    await this.removals;
    const current = this.segments.at(-1);
    if (current && current.seq !== this.sealedSeq) {
      await cutZeroes(current);
      await writeSidecar(this.dir, current.seq, encodeSidecar(current.seq, current.size, this.index, liveRunOf(this.index, current.seq)));
      await syncDir(this.dir);
    }
    const seq = this.nextSeq++;
    const seg = await createSegment(this.dir, seq);
    try {
      await writeAll(seg.fd, segmentHeader(seq), 0);
      await syncDir(this.dir);
    } catch (err) {
      closeSegment(seg);
      throw err;
    }
    seg.size = SEGMENT_HEADER_BYTES;
    this.segments.push(seg);
    this.bySeq.set(seq, seg);
    return seg;
  }

  private removeInBackground(old: SegmentFile[]): void {
    for (const seg of old) this.bySeq.delete(seg.seq);
    this.removals = this.removals
      .then(async () => {
        for (const seg of old) {
          await settleZeroes(seg);
          await removeSegment(seg);
          await removeSidecar(this.dir, seg.seq);
        }
        await syncDir(this.dir);
      })
      .catch(() => {
        // Harmless: a segment left behind is below the log start (or the first
        // segment) and is skipped or deleted again on the next open.
      });
  }
}
