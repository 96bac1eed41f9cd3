import { closeSync, fdatasync, rename, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { adoptionFileName, segmentHeader } from './segments/segment-format.js';
import { readAt, segmentPath, syncDir, writeAll, type SegmentFile } from './segments/segment-file.js';
import { encodeSidecar, writeSidecar } from './segments/segment-sidecar.js';
import type { SpooledEntries } from './snapshot-spool.js';

// Installing the entries that came with a snapshot stream (spooled to a file as they
// arrived) as a segment of the log: two renames around the synced record that names it,
// so that a crash at any point leaves either the old log or the new one.

/**
 * The first steps of installing spooled entries as segment `seq` of the segments in
 * `dir`: the file gets its header and is synced, its sidecar is written, and it is
 * renamed to `<seq>.adopt` (directory synced). Nothing names it yet: a crash now leaves
 * the old log, and the next open deletes the file (its number is above the first
 * segment the records name).
 */
export async function prepareAdoption(dir: string, spooled: SpooledEntries, seq: number): Promise<SegmentFile> {
  await writeAll(spooled.fd, segmentHeader(seq), 0);
  await new Promise<void>((resolve, reject) => fdatasync(spooled.fd, (err) => (err ? reject(err) : resolve())));
  await writeSidecar(dir, seq, encodeSidecar(seq, spooled.bytes, spooled.index, { first: spooled.index.first, last: spooled.index.last }));
  const path = join(dir, adoptionFileName(seq));
  await new Promise<void>((resolve, reject) => rename(spooled.path, path, (err) => (err ? reject(err) : resolve())));
  await syncDir(dir);
  return { seq, path, fd: spooled.fd, size: spooled.bytes };
}

/** Renames the adopted file to its segment name (and syncs the directory): the records
 *  name it by now (open completes this step after a crash). */
export async function completeAdoption(dir: string, file: SegmentFile): Promise<void> {
  const path = segmentPath(dir, file.seq);
  await new Promise<void>((resolve, reject) => rename(file.path, path, (err) => (err ? reject(err) : resolve())));
  await syncDir(dir);
  file.path = path;
}

/** The LevelDB value (the entry's encoding: a record without its length) of entry `index` in a spool file. */
export function spooledValue(spooled: SpooledEntries, index: number): Uint8Array {
  return readAt(spooled.fd, spooled.index.lengthOf(index), spooled.index.offsetOf(index));
}

/** Closes and deletes a spool file nothing will install. */
export function discardSpooled(spooled: SpooledEntries): void {
  try {
    closeSync(spooled.fd);
    unlinkSync(spooled.path);
  } catch {
    // Gone already; a leftover spool file is deleted on the next open.
  }
}
