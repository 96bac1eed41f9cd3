// One segment file and the few system calls the log makes on segments, as promises
// over the callback API (one trip to libuv's thread pool each, no FileHandle objects).
import { close, closeSync, constants, fsync, ftruncate, open, openSync, readSync, unlink, write, writeSync, writev, writevSync } from 'node:fs';
import { join } from 'node:path';
import { segmentFileName } from './segment-format.js';

export interface SegmentFile {
  seq: number;
  path: string;
  /** Opened read-write with O_DSYNC: a write returns once its bytes are durable,
   *  one system call where write + fdatasync would be two trips to the thread pool. */
  fd: number;
  /** Bytes of records in the file: where the next record goes. */
  size: number;
  /** The newest segment: the file's length when zeros lie beyond `size` (segment-zeroes.ts). */
  allocated?: number;
  /** A chunk of zeros being written beyond `allocated`. */
  zeroing?: Promise<void>;
  /** Writing zeros failed once (a full disk?): none are tried again on this segment. */
  zeroFailed?: boolean;
}

export function segmentPath(dir: string, seq: number): string {
  return join(dir, segmentFileName(seq));
}

/** Opens an existing segment for reads and synced appends. */
export function openSegmentSync(dir: string, seq: number, size: number): SegmentFile {
  const path = segmentPath(dir, seq);
  return { seq, path, fd: openSync(path, constants.O_RDWR | constants.O_DSYNC), size };
}

/** Creates a new, empty segment (fails if the file exists). */
export function createSegment(dir: string, seq: number): Promise<SegmentFile> {
  const path = segmentPath(dir, seq);
  return new Promise((resolve, reject) =>
    open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC, 0o644, (err, fd) =>
      err ? reject(err) : resolve({ seq, path, fd, size: 0 }),
    ),
  );
}

/** Writes all of `buf` at `position` (looping over short writes); durable on return (O_DSYNC). */
export function writeAll(fd: number, buf: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) return reject(err);
        if (done + n >= buf.length) return resolve();
        step(done + n);
      });
    };
    step(0);
  });
}

/** Writes `bufs` one after the other at `position`, as one system call (a writev; on a
 *  short write the rest is written as one buffer); durable on return (O_DSYNC). Received
 *  entries from several append messages go to disk as they arrived, not copied together. */
export function writevAll(fd: number, bufs: Uint8Array[], position: number): Promise<void> {
  if (bufs.length === 1) return writeAll(fd, bufs[0], position);
  let total = 0;
  for (const b of bufs) total += b.length;
  return new Promise((resolve, reject) => {
    writev(fd, bufs, position, (err, n) => {
      if (err) return reject(err);
      if (n >= total) return resolve();
      writeAll(fd, Buffer.concat(bufs, total).subarray(n), position + n).then(resolve, reject);
    });
  });
}

/** writevAll on the calling thread: the event loop waits for the disk, and no thread
 *  of libuv's pool is woken and waited for (see segments/loop-writes.ts for when). */
export function writevAllSync(fd: number, bufs: Uint8Array[], position: number): void {
  let total = 0;
  for (const b of bufs) total += b.length;
  let n = bufs.length === 1 ? writeSync(fd, bufs[0], 0, total, position) : writevSync(fd, bufs, position);
  if (n >= total) return;
  const rest = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs, total);
  while (n < total) n += writeSync(fd, rest, n, total - n, position + n);
}

export function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`short read: ${done} of ${length} bytes at ${position}`);
    done += n;
  }
  return buf;
}

export function truncateFile(fd: number, size: number): Promise<void> {
  return new Promise((resolve, reject) =>
    ftruncate(fd, size, (err) => (err ? reject(err) : fsync(fd, (err2) => (err2 ? reject(err2) : resolve())))),
  );
}

/** Makes the creation or removal of files in `dir` durable. */
export function syncDir(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    open(dir, constants.O_RDONLY, (err, fd) => {
      if (err) return reject(err);
      fsync(fd, (syncErr) => close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    }),
  );
}

export function closeSegment(seg: SegmentFile): void {
  try {
    closeSync(seg.fd);
  } catch {
    // Already closed: nothing left to release.
  }
}

export function removeSegment(seg: SegmentFile): Promise<void> {
  closeSegment(seg);
  return new Promise((resolve, reject) => unlink(seg.path, (err) => (err && err.code !== 'ENOENT' ? reject(err) : resolve())));
}
