import { crc32 } from 'node:zlib';
import { concatBytes } from '../../bytes.js';
import { SnapshotGoneError } from '../../raft/storage/log-store.js';
import { StorageFailedError, StoreCorruptError } from '../errors.js';
import { KEY_SNAPSHOT_DATA, SNAPSHOT_IMAGES_END, checksum, snapshotSliceKey } from './codec.js';
import type { StoreRecords } from './store-records.js';

const EMPTY = new Uint8Array(0);

/** The image of the snapshot a store holds, as it was at open or last written. */
export interface HeldImage {
  index: number;
  data: Uint8Array;
  crc: number;
  /** False only for an image stored whole under the old key (read at open). */
  sliced: boolean;
}

/**
 * The snapshot images of a log store, kept in LevelDB in slices (one key per slice of
 * `sliceBytes`, so that storing a large image never holds the event loop for long).
 *
 * The held image is pinned from open until the driver has restored from it, otherwise
 * held only weakly and read back from disk when wanted: a large state's image costs as
 * much memory as the state itself, and keeping it resident for the rare follower that
 * needs it would double the node's memory.
 */
export class SnapshotImages {
  /** The index of the held snapshot (the only image that can be read). */
  private index: number;
  private pinned: Uint8Array | undefined;
  private weak: { index: number; ref: WeakRef<Uint8Array> } | undefined;
  private heldBytes: number;
  private heldCrc: number;
  private sliced: boolean;
  /** The sliced images that may still be stored (indexes), beside the held one. */
  private readonly staleImages = new Set<number>();
  private imagesScanned = false;
  private wholeImageMayExist = false;
  /** Deletions of replaced images, run in the background one after the other. */
  private background: Promise<void> = Promise.resolve();

  constructor(
    private readonly records: StoreRecords,
    private readonly sliceBytes: number,
    held: HeldImage,
  ) {
    this.index = held.index;
    this.pinned = held.data;
    this.heldBytes = held.data.length;
    this.heldCrc = held.crc;
    this.sliced = held.sliced;
  }

  /** Bytes of the held image (without reading it). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** The image of the snapshot at `index`, written (write()) and now recorded, becomes the held one. */
  hold(index: number, data: Uint8Array, crc: number): void {
    this.index = index;
    this.heldBytes = data.length;
    this.heldCrc = crc;
    this.sliced = true;
    this.holdWeakly(index, data);
  }

  /** The whole image of the snapshot at `index`, from memory or read back from disk. */
  get(index: number): Uint8Array {
    const cached = this.cached(index);
    if (cached) {
      this.holdWeakly(index, cached);
      return cached;
    }
    if (index !== this.index) throw new SnapshotGoneError(index);
    if (this.heldBytes === 0) return EMPTY;
    let data: Uint8Array;
    if (this.sliced) {
      const parts: Uint8Array[] = [];
      for (let n = 0, read = 0; read < this.heldBytes; n++) {
        const slice = this.readSlice(index, n);
        parts.push(slice);
        read += slice.length;
      }
      data = concatBytes(parts);
    } else {
      data = this.records.db.getSync(KEY_SNAPSHOT_DATA) ?? EMPTY;
    }
    if (data.length !== this.heldBytes || checksum(data) !== this.heldCrc) {
      throw new StoreCorruptError(this.records.location, `snapshot data at index ${index} does not match its length/checksum`);
    }
    this.holdWeakly(index, data);
    return data;
  }

  /** The held image as a reader of byte ranges (a slice at a time from disk). */
  reader(): (offset: number, length: number) => Uint8Array {
    const index = this.index;
    const totalBytes = this.heldBytes;
    const sliced = this.sliced;
    let sliceSize = 0;
    return (offset: number, length: number): Uint8Array => {
      const end = Math.min(totalBytes, offset + length);
      const cached = this.cached(index);
      if (cached) return cached.subarray(offset, end);
      if (!sliced) return this.get(index).subarray(offset, end);
      if (sliceSize === 0) sliceSize = this.readSlice(index, 0).length;
      const parts: Uint8Array[] = [];
      for (let n = Math.floor(offset / sliceSize); n * sliceSize < end; n++) {
        const slice = this.readSlice(index, n);
        parts.push(slice.subarray(Math.max(0, offset - n * sliceSize), Math.min(slice.length, end - n * sliceSize)));
      }
      return parts.length === 1 ? parts[0] : concatBytes(parts);
    };
  }

  /**
   * Writes the image of the snapshot at `index` under its own keys, a slice per batch
   * (each synced, so that the record written next never names a lost slice), and
   * returns its checksum, computed slice by slice.
   */
  async write(index: number, data: Uint8Array): Promise<number> {
    // A clear of other images still running would take the new slices with it.
    await this.background;
    // Until a record names it, a partial image is one to clear with the others.
    this.staleImages.add(index);
    try {
      // Slices left by an attempt that crashed before its record was written.
      await this.records.db.clear({ gte: snapshotSliceKey(index, 0), lt: snapshotSliceKey(index + 1, 0) });
    } catch (err) {
      throw new StorageFailedError(`clearing snapshot slices in ${this.records.location} failed: ${(err as Error).message}`, { cause: err });
    }
    let crc = 0;
    for (let at = 0, n = 0; at < data.length; at += this.sliceBytes, n++) {
      this.records.checkWritable();
      const slice = data.subarray(at, Math.min(data.length, at + this.sliceBytes));
      crc = crc32(slice, crc);
      await this.records.write([{ type: 'put', key: snapshotSliceKey(index, n), value: slice }]);
    }
    return crc;
  }

  /**
   * Deletes, in the background, every stored image but the sliced one at `keep`. The
   * first call (at open) scans the whole image range; later ones delete only the images
   * this store wrote or replaced, so they never step over old tombstones.
   */
  clearOthers(keep: number | undefined): void {
    let ranges: { gte?: Uint8Array; gt?: Uint8Array; lt: Uint8Array }[];
    if (!this.imagesScanned) {
      this.imagesScanned = true;
      const end = SNAPSHOT_IMAGES_END;
      ranges =
        keep === undefined
          ? [{ gt: KEY_SNAPSHOT_DATA, lt: end }]
          : [
              { gte: KEY_SNAPSHOT_DATA, lt: snapshotSliceKey(keep, 0) },
              { gte: snapshotSliceKey(keep + 1, 0), lt: end },
            ];
    } else {
      ranges = [];
      for (const index of this.staleImages) {
        if (index !== keep) ranges.push({ gte: snapshotSliceKey(index, 0), lt: snapshotSliceKey(index + 1, 0) });
      }
      this.staleImages.clear();
    }
    // An image stored whole under the old key stays until a sliced one replaces it.
    const dropWholeImage = keep !== undefined && this.wholeImageMayExist;
    if (keep === undefined) this.wholeImageMayExist = true;
    else this.staleImages.add(keep);
    if (ranges.length === 0 && !dropWholeImage) return;
    this.wholeImageMayExist &&= !dropWholeImage;
    const db = this.records.db;
    this.background = this.background
      .then(async () => {
        if (dropWholeImage) await db.del(KEY_SNAPSHOT_DATA);
        for (const range of ranges) await db.clear(range);
      })
      .catch(() => {
        // Harmless: unnamed images are cleared again on the next open.
      });
  }

  /** Resolves when the background deletions are done (before the store closes). */
  settled(): Promise<void> {
    return this.background;
  }

  private cached(index: number): Uint8Array | undefined {
    if (index === this.index && this.pinned) return this.pinned;
    return this.weak?.index === index ? this.weak.ref.deref() : undefined;
  }

  private holdWeakly(index: number, image: Uint8Array): void {
    this.pinned = undefined;
    this.weak = { index, ref: new WeakRef(image) };
  }

  private readSlice(index: number, n: number): Uint8Array {
    const slice = this.records.db.getSync(snapshotSliceKey(index, n));
    if (slice === undefined) {
      if (index !== this.index) throw new SnapshotGoneError(index);
      throw new StoreCorruptError(this.records.location, `slice ${n} of the snapshot image at index ${index} is missing`);
    }
    return slice;
  }
}
