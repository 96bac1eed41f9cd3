// The follower's end of a snapshot stream (snapshot-stream.ts): the image is kept in
// memory (the state machine restores from it), the entries that follow it are written
// to a file as the chunks arrive, already laid out as a segment, and checked record by
// record (checksum, one index after the other, terms never going down), so that a
// gigabyte of retained entries never sits in memory and the install only renames it.
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SnapshotSpool } from '../../raft/storage/log-store.js';
import type { Snapshot, SnapshotMeta } from '../../raft/types.js';
import { ENTRY_HEADER } from './codec.js';
import { RECORD_PREFIX_BYTES, segmentHeader, SPOOL_SUFFIX } from './segments/segment-format.js';
import { SegmentIndex } from './segments/segment-index.js';
import { decodeStreamHeader, isComposite, STREAM_HEADER_BYTES, STREAM_MAGIC, type StreamHeader } from './snapshot-stream.js';

/** The entries of a received stream, spooled to a file laid out as a segment (its
 *  header's sequence number is written when it is adopted). */
export interface SpooledEntries {
  path: string;
  fd: number;
  /** Bytes in the file (segment header included). */
  bytes: number;
  /** Where each entry lies in the file (segment number 0 until adopted). */
  index: SegmentIndex;
  /** The entry just below the first one: the log start the leader kept. */
  start: { index: number; term: number };
}

const spooled = new WeakMap<Snapshot, SpooledEntries>();

/** The entries that came with `snapshot` (a composite stream), if any. */
export function spooledEntriesOf(snapshot: Snapshot): SpooledEntries | undefined {
  return spooled.get(snapshot);
}

let spoolCounter = 0;

export class FileSnapshotSpool implements SnapshotSpool {
  private head: Uint8Array[] = [];
  private headBytes = 0;
  private header: StreamHeader | undefined;
  private plain: Uint8Array[] | undefined;
  private image: Uint8Array | undefined;
  private imageAt = 0;
  private file: { path: string; fd: number; size: number } | undefined;
  private index: SegmentIndex | undefined;
  private carry: Buffer | undefined;
  private lastTerm = 0;

  constructor(
    private readonly dir: string,
    private readonly meta: SnapshotMeta,
    /** Told of the entries a completed stream spooled (the store releases them if no
     *  install claims them). */
    private readonly onFinished: (entries: SpooledEntries) => void = () => {},
  ) {}

  write(data: Uint8Array): void {
    if (this.plain) {
      this.plain.push(data);
      return;
    }
    if (!this.header) {
      this.head.push(data);
      this.headBytes += data.length;
      if (this.headBytes < STREAM_MAGIC.length) return;
      const head = Buffer.concat(this.head);
      if (!isComposite(head)) {
        this.plain = [head];
        this.head = [];
        return;
      }
      if (head.length < STREAM_HEADER_BYTES) return;
      this.head = [];
      this.begin(decodeStreamHeader(head));
      data = head.subarray(STREAM_HEADER_BYTES);
    }
    const image = this.image!;
    if (this.imageAt < image.length) {
      const n = Math.min(image.length - this.imageAt, data.length);
      image.set(data.subarray(0, n), this.imageAt);
      this.imageAt += n;
      data = data.subarray(n);
    }
    if (data.length > 0) this.takeRecords(Buffer.from(data.buffer, data.byteOffset, data.length));
  }

  finish(): Snapshot {
    if (!this.header) {
      // A stream shorter than the magic: a (tiny) plain image.
      if (!this.plain) this.plain = this.head;
    }
    if (this.plain) {
      const data = Buffer.concat(this.plain);
      this.plain = [];
      return { meta: this.meta, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    }
    const h = this.header!;
    const index = this.index!;
    const file = this.file!;
    if (this.imageAt < h.imageBytes) throw new Error(`the snapshot stream ended inside its image (${this.imageAt} of ${h.imageBytes} bytes)`);
    if (this.carry) throw new Error('the snapshot stream ended inside an entry record');
    if (index.last !== this.meta.index) throw new Error(`the snapshot stream holds entries up to ${index.last}, not up to the snapshot at ${this.meta.index}`);
    if (index.size > 0 && index.termOf(this.meta.index) !== this.meta.term) throw new Error(`entry ${this.meta.index} in the stream has term ${index.termOf(this.meta.index)}, the snapshot says ${this.meta.term}`);
    const snapshot: Snapshot = { meta: this.meta, data: this.image! };
    const entries: SpooledEntries = { path: file.path, fd: file.fd, bytes: file.size, index, start: h.start };
    spooled.set(snapshot, entries);
    this.file = undefined; // the store owns it now
    this.onFinished(entries);
    return snapshot;
  }

  discard(): void {
    this.plain = undefined;
    this.image = undefined;
    this.head = [];
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    try {
      closeSync(file.fd);
      unlinkSync(file.path);
    } catch {
      // Already gone; a leftover spool file is deleted on the next open anyway.
    }
  }

  private begin(h: StreamHeader): void {
    if (h.start.index > this.meta.index || h.start.index < 0) throw new Error(`a snapshot stream keeping entries from ${h.start.index + 1} for a snapshot at ${this.meta.index}`);
    this.header = h;
    this.image = new Uint8Array(h.imageBytes);
    this.index = new SegmentIndex(h.start.index + 1);
    this.lastTerm = h.start.term;
    const path = join(this.dir, `snapshot-${this.meta.index}-${process.pid}-${++spoolCounter}${SPOOL_SUFFIX}`);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o644);
    this.file = { path, fd, size: 0 };
    // The sequence number is not known yet: 0 until the store adopts the file.
    this.append(segmentHeader(0));
  }

  private append(buf: Uint8Array): void {
    const file = this.file!;
    for (let done = 0; done < buf.length; ) done += writeSync(file.fd, buf, done, buf.length - done, file.size + done);
    file.size += buf.length;
  }

  /** Writes `data` (the next bytes of the records) to the file and checks every record it completes. */
  private takeRecords(data: Buffer): void {
    let at = 0;
    const fileAt = this.file!.size;
    if (this.carry) {
      // A record begun in an earlier chunk: complete it first.
      let rec = this.carry;
      const need = (have: Buffer) => (have.length < RECORD_PREFIX_BYTES ? RECORD_PREFIX_BYTES : RECORD_PREFIX_BYTES + have.readUInt32BE(0));
      while (rec.length < need(rec) && at < data.length) {
        const n = Math.min(need(rec) - rec.length, data.length - at);
        rec = Buffer.concat([rec, data.subarray(at, at + n)]);
        at += n;
      }
      if (rec.length < need(rec)) {
        this.carry = rec;
        this.append(data);
        return;
      }
      this.carry = undefined;
      this.check(rec, 0, fileAt - (rec.length - at));
    }
    const base = fileAt;
    while (at + RECORD_PREFIX_BYTES <= data.length) {
      const length = data.readUInt32BE(at);
      if (at + RECORD_PREFIX_BYTES + length > data.length) break;
      this.check(data, at, base + at);
      at += RECORD_PREFIX_BYTES + length;
    }
    if (at < data.length) this.carry = Buffer.from(data.subarray(at));
    this.append(data);
  }

  /** Checks the record at `buf[at]` (which lies at `fileOffset` in the file) and indexes it. */
  private check(buf: Buffer, at: number, fileOffset: number): void {
    const length = buf.readUInt32BE(at);
    const body = at + RECORD_PREFIX_BYTES;
    if (length < ENTRY_HEADER) throw new Error(`a record of ${length} bytes in the snapshot stream`);
    if (buf.readUInt32BE(body) !== crc32(buf.subarray(body + 4, body + length)) || buf[body + 4] > 1) {
      throw new Error('a record in the snapshot stream fails its checksum');
    }
    const term = buf.readDoubleBE(body + 5);
    const index = buf.readDoubleBE(body + 13);
    const idx = this.index!;
    if (index !== idx.last + 1) throw new Error(`the snapshot stream holds entry ${index} after ${idx.last}`);
    if (term < this.lastTerm) throw new Error(`entry ${index} in the snapshot stream has term ${term}, below ${this.lastTerm}`);
    if (index > this.meta.index) throw new Error(`the snapshot stream holds entry ${index}, above the snapshot at ${this.meta.index}`);
    this.lastTerm = term;
    idx.push(index, term, 0, fileOffset + RECORD_PREFIX_BYTES, length);
  }
}
