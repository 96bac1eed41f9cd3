import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { DiskLogStore } from '../../src/node/storage/disk-log-store.js';
import {
  checksum,
  encodeFormat,
  encodeHardState,
  encodeSnapshotRecord,
  entryKey,
  entryKeysOf,
  KEY_FORMAT,
  KEY_HARD_STATE,
  KEY_SNAPSHOT_DATA,
  KEY_SNAPSHOT_META,
  SNAPSHOT_IMAGES_END,
  snapshotSliceKey,
} from '../../src/node/storage/codec.js';
import { StoreCorruptError, StoreLockedError } from '../../src/node/errors.js';
import { SnapshotGoneError, type WritableLogStore } from '../../src/raft/storage/log-store.js';
import type { ConfState } from '../../src/raft/types.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { describeLogStoreConformance, entry } from './log-store-conformance.js';

const dirs = new Map<WritableLogStore, string>();
const CONF: ConfState = { voters: ['n1', 'n2', 'n3'] };

for (const layout of ['segments', 'leveldb'] as const) {
  describeLogStoreConformance(`DiskLogStore, entries in ${layout}`, {
    async create(conf) {
      const dir = makeTempDir('mom-log-');
      // A tiny cache so reads also go to disk, not only to the tail cache; tiny image
      // slices so that every snapshot is stored in several; tiny segments so that
      // the log spans several.
      const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf, cacheEntries: 3, snapshotSliceBytes: 3, segmentBytes: 128, entryLayout: layout });
      dirs.set(store, dir);
      return store;
    },
    async reopen(store) {
      const dir = dirs.get(store)!;
      dirs.delete(store);
      await store.close();
      const reopened = await DiskLogStore.open(dir, { nodeId: 'n1', conf: { voters: ['ignored'] }, cacheEntries: 3, snapshotSliceBytes: 3, segmentBytes: 128 });
      dirs.set(reopened, dir);
      return reopened;
    },
    async dispose(store) {
      const dir = dirs.get(store);
      if (!dir) return;
      dirs.delete(store);
      await store.close();
      removeDir(dir);
    },
  });
}

describe('DiskLogStore on disk, entries in LevelDB (the format of earlier builds)', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-log-');
  });
  afterEach(() => removeDir(dir));

  async function rawDb(fn: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void>) {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    try {
      await fn(db);
    } finally {
      await db.close();
    }
  }

  async function filled(n: number): Promise<void> {
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, entryLayout: 'leveldb' });
    const ents = [];
    for (let i = 1; i <= n; i++) ents.push(entry(i, 1));
    await store.save({ entries: ents, hardState: { term: 1, vote: 'n1', commit: n } });
    await store.close();
  }

  test('entries sort above every record key, so the log files LevelDB writes do not overlap', async () => {
    await filled(3);
    await rawDb(async (db) => {
      const keys = (await db.keys().all()).map((k) => Buffer.from(k));
      const firstEntry = keys.findIndex((k) => k.equals(Buffer.from(entryKey(1))));
      expect(firstEntry).toBe(keys.length - 3); // the three entries come last
    });
  });

  test('a store in format 1 (entries under "e", below the records) still opens, reads and appends', async () => {
    await filled(5);
    const v1 = entryKeysOf(1);
    await rawDb(async (db) => {
      for (let i = 1; i <= 5; i++) {
        await db.put(v1.key(i), (await db.get(entryKey(i)))!);
        await db.del(entryKey(i));
      }
      await db.put(KEY_FORMAT, encodeFormat({ format: 1, nodeId: 'n1' }));
    });
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, cacheEntries: 2 });
    expect(store.lastIndex()).toBe(5);
    expect(store.entries(1, 6).map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    await store.save({ entries: [entry(6, 1)] });
    await store.close();
    const again = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    expect(again.lastIndex()).toBe(6);
    await again.close();
    await rawDb(async (db) => {
      expect(await db.get(v1.key(6))).toBeDefined();
      expect(await db.get(entryKey(6))).toBeUndefined();
    });
  });

  test('a flipped byte in an entry is reported, never used', async () => {
    await filled(10);
    await rawDb(async (db) => {
      const key = entryKey(9);
      const v = Uint8Array.from((await db.get(key))!);
      v[v.length - 1] ^= 0xff;
      await db.put(key, v);
    });
    await expect(DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF })).rejects.toThrow(/entry 9: entry checksum mismatch/);
  });

  test('a corrupt entry outside the cached tail is reported when read', async () => {
    await filled(10);
    await rawDb(async (db) => {
      const key = entryKey(2);
      const v = Uint8Array.from((await db.get(key))!);
      v[6] ^= 0x01;
      await db.put(key, v);
    });
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, cacheEntries: 4 });
    try {
      expect(() => store.entries(1, 4)).toThrow(StoreCorruptError);
    } finally {
      await store.close();
    }
  });

  test('a missing entry in the middle of the log is reported', async () => {
    await filled(10);
    await rawDb((db) => db.del(entryKey(8)));
    await expect(DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF })).rejects.toThrow(/entry 8 is missing/);
  });

  test('a commit index beyond the log is reported as a torn store', async () => {
    await filled(3);
    await rawDb((db) => db.put(KEY_HARD_STATE, encodeHardState({ term: 1, vote: 'n1', commit: 7 })));
    await expect(DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF })).rejects.toThrow(/commit index 7 is beyond the last entry 3/);
  });

  test("another node's data dir is refused", async () => {
    await filled(1);
    const err = await DiskLogStore.open(dir, { nodeId: 'n2', conf: CONF }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect(err.message).toMatch(/belongs to node n1, not n2/);
    expect(err.exitCode).toBe(65);
  });

  test('a directory holding something else is refused', async () => {
    await rawDb((db) => db.put(new TextEncoder().encode('foo'), new TextEncoder().encode('bar')));
    await expect(DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF })).rejects.toThrow(/no format record/);
  });

  test('a second open of the same dir fails with a clear lock error', async () => {
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    try {
      const err = await DiskLogStore.open(join(dir), { nodeId: 'n1', conf: CONF }).catch((e) => e);
      // Within one process LevelDB reports the lock as an open error too.
      expect(err instanceof StoreLockedError || /lock/i.test(String(err?.message))).toBe(true);
    } finally {
      await store.close();
    }
  });

  test('opening a long log reads only the tail into memory', async () => {
    await filled(5000);
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, cacheEntries: 100 });
    try {
      expect(store.lastIndex()).toBe(5000);
      // The cache holds 100 entries; older ones still read (from disk).
      expect(store.entries(1, 3).map((e) => e.index)).toEqual([1, 2]);
      expect(store.term(4900)).toBe(1);
    } finally {
      await store.close();
    }
  });

  async function snapshotted(): Promise<void> {
    await filled(10);
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, snapshotSliceBytes: 4 });
    await store.compact({ meta: { index: 8, term: 1, conf: CONF }, data: new TextEncoder().encode('image-at-8') }, 6);
    await store.close();
  }

  async function imageKeys(): Promise<string[]> {
    const keys: string[] = [];
    await rawDb(async (db) => {
      for (const k of await db.keys({ gte: KEY_SNAPSHOT_DATA, lt: SNAPSHOT_IMAGES_END }).all()) keys.push(Buffer.from(k).toString('hex'));
    });
    return keys;
  }

  test('a snapshot image is stored in slices and read back whole', async () => {
    await snapshotted();
    expect(await imageKeys()).toHaveLength(3); // 'imag' 'e-at' '-8'
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    expect(new TextDecoder().decode(store.snapshot().data)).toBe('image-at-8');
    expect(store.firstIndex()).toBe(6);
    await store.close();
  });

  /** As if the garbage collector took the image: reads must go to disk. */
  function forgetImage(store: DiskLogStore): void {
    const internals = store as unknown as { pinnedImage?: Uint8Array; weakImage?: unknown };
    internals.pinnedImage = undefined;
    internals.weakImage = undefined;
  }

  test('the image is not kept in memory: snapshot data and a streaming source read it back from disk', async () => {
    await snapshotted();
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    try {
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      forgetImage(store);
      const source = store.snapshotSource();
      expect(source.meta.index).toBe(8);
      expect(source.totalBytes).toBe(10);
      // Pieces across, inside and at the end of the 4-byte slices.
      expect(text(source.read(0, 4))).toBe('imag');
      expect(text(source.read(2, 5))).toBe('age-a');
      expect(text(source.read(8, 1024))).toBe('-8');
      expect(text(store.snapshot().data)).toBe('image-at-8');
      expect(store.snapshotBytes()).toBe(10);
    } finally {
      await store.close();
    }
  });

  test('a source of an image that a newer snapshot replaced says so (the leader restarts the stream)', async () => {
    await snapshotted();
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, snapshotSliceBytes: 4 });
    try {
      forgetImage(store);
      const old = store.snapshotSource();
      await store.compact({ meta: { index: 9, term: 1, conf: CONF }, data: new TextEncoder().encode('image-at-9') });
      await (store as unknown as { background: Promise<void> }).background; // the old slices are cleared
      expect(() => old.read(4, 4)).toThrow(SnapshotGoneError);
      forgetImage(store);
      expect(new TextDecoder().decode(store.snapshotSource().read(0, 100))).toBe('image-at-9');
    } finally {
      await store.close();
    }
  });

  test('a missing image slice is reported, never used', async () => {
    await snapshotted();
    await rawDb((db) => db.del(snapshotSliceKey(8, 1)));
    await expect(DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF })).rejects.toThrow(/snapshot data at index 8/);
  });

  test('slices of an image whose record was never written are dropped; the old image stays', async () => {
    await snapshotted();
    // A crash after writing some slices of the image at 9, before its record.
    await rawDb((db) => db.put(snapshotSliceKey(9, 0), new TextEncoder().encode('half')));
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    expect(store.snapshot().meta.index).toBe(8);
    expect(new TextDecoder().decode(store.snapshot().data)).toBe('image-at-8');
    await store.close(); // waits for the background clear
    expect(await imageKeys()).toHaveLength(3);
  });

  test('an image stored whole under the old key still opens, and a new snapshot replaces it', async () => {
    await filled(10);
    const image = new TextEncoder().encode('legacy-image');
    await rawDb(async (db) => {
      await db.put(KEY_SNAPSHOT_DATA, image);
      await db.put(KEY_SNAPSHOT_META, encodeSnapshotRecord({ meta: { index: 0, term: 0, conf: CONF }, dataBytes: image.length, dataCrc: checksum(image) }));
    });
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    expect(new TextDecoder().decode(store.snapshot().data)).toBe('legacy-image');
    await store.compact({ meta: { index: 5, term: 1, conf: CONF }, data: new TextEncoder().encode('new') });
    await store.close();
    expect(await imageKeys()).toEqual([Buffer.from(snapshotSliceKey(5, 0)).toString('hex')]);
    const again = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    expect(new TextDecoder().decode(again.snapshot().data)).toBe('new');
    await again.close();
  });

  test('a closed store refuses writes', async () => {
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    await store.close();
    await expect(store.save({ entries: [entry(1, 1)] })).rejects.toThrow(/closed/);
  });
});
