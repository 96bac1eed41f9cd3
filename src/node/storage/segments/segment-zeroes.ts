// Zeroes written ahead of the newest segment's records, so that a small synced append
// overwrites blocks the file already has instead of growing it.
//
// Why: an O_DSYNC write that grows a file must also make the new size durable, which
// on ext4 means a journal commit, and the journal is one per file system: the leader's
// and the followers' syncs (on one machine, in tests and benchmarks; or with other
// writers on a node's disk) queue behind each other's commits. Writing into blocks
// already written (zeros) changes no metadata: the sync is the data alone. Measured on
// the 2-core dev machine, 1.1 KB appends one at a time (p50 of 1,500): 0.13-0.15 ms
// growing the file, 0.10 ms into zeros; three writers at once 0.17-0.24 ms against
// 0.09-0.22 ms. etcd's WAL and Ra's segments preallocate for the same reason (with
// fallocate, which Node does not offer; zeros written once are the portable form).
//
// Only small appends get zeros ahead (a batch of big entries pays the size change once
// for many entries, and writing zeros first would double its disk bandwidth). The
// zeros go out in the background, beyond the last record, and an append never
// overlaps a chunk in flight. Recovery reads a run of zeros after the last record of
// the newest segment as its clean end (segment-recovery.ts); a segment is cut to its
// records before it is sealed, so sealed segments and their sidecars never see zeros.
import { truncateFile, writeAll, type SegmentFile } from './segment-file.js';

/** Zeros written at a time. */
export const ZERO_CHUNK_BYTES = 1024 * 1024;
/** A new chunk is started once fewer zeros than this lie ahead of the last record. */
const LOW_WATER_BYTES = 256 * 1024;
/** Appends larger than this get no zeros ahead. */
const SMALL_APPEND_BYTES = 64 * 1024;

let zeros: Buffer | undefined;

/** The zeros in flight that an append ending at `end` would overlap, to be waited for
 *  first (undefined when there are none: the append need not leave this task). */
export function beforeAppend(seg: SegmentFile, end: number): Promise<void> | undefined {
  return seg.zeroing && end > (seg.allocated ?? 0) ? seg.zeroing : undefined;
}

/** After an append of `bytes`: starts the next chunk of zeros when they run low (and
 *  the segment is not about to roll at `segmentBytes`). */
export function afterAppend(seg: SegmentFile, bytes: number, segmentBytes: number): void {
  if (seg.zeroing || bytes > SMALL_APPEND_BYTES || seg.zeroFailed) return;
  const allocated = Math.max(seg.allocated ?? 0, seg.size);
  if (allocated - seg.size >= LOW_WATER_BYTES || allocated >= segmentBytes) return;
  zeros ??= Buffer.alloc(ZERO_CHUNK_BYTES);
  const chunk = zeros.subarray(0, Math.min(ZERO_CHUNK_BYTES, segmentBytes - allocated));
  seg.zeroing = writeAll(seg.fd, chunk, allocated).then(
    () => {
      seg.allocated = allocated + chunk.length;
      seg.zeroing = undefined;
    },
    () => {
      // Most likely a full disk: appends grow the file as without zeros (and fail on
      // their own if the disk is really full). No further attempts on this segment.
      seg.zeroFailed = true;
      seg.zeroing = undefined;
    },
  );
}

/** Waits for zeros in flight (before the file is closed or removed). */
export async function settleZeroes(seg: SegmentFile): Promise<void> {
  await seg.zeroing;
}

/** Before a segment is sealed or closed: cuts it to its records, durably (a sidecar
 *  names that size). */
export async function cutZeroes(seg: SegmentFile): Promise<void> {
  await seg.zeroing;
  const allocated = seg.allocated ?? 0;
  seg.allocated = undefined;
  if (allocated > seg.size || seg.zeroFailed) await truncateFile(seg.fd, seg.size);
}

/** Whether `bytes` from `from` on are all zero (the clean end of the newest segment). */
export function zeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
