// The segment files of a DiskLogStore: what a crash can leave behind and how opening
// repairs it, where it must refuse, and how whole segments go away.
import { appendFileSync, copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLogStore, SEGMENTS_DIR } from '../../src/node/storage/disk-log-store.js';
import { StoreCorruptError } from '../../src/node/errors.js';
import type { ConfState } from '../../src/raft/types.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { entry } from './log-store-conformance.js';
import { encodeRecords } from '../../src/node/storage/entry-records.js';
import { jest } from '@jest/globals';

const CONF: ConfState = { voters: ['n1', 'n2', 'n3'] };

describe('DiskLogStore segments', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-seg-');
  });
  afterEach(() => removeDir(dir));

  const open = (segmentBytes = 1 << 20) => DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, segmentBytes, cacheEntries: 2 });
  const segDir = () => join(dir, SEGMENTS_DIR);
  const segmentFiles = () => readdirSync(segDir()).filter((n) => n.endsWith('.seg')).sort();
  const lastSegment = () => join(segDir(), segmentFiles().at(-1)!);

  /** Entries 1..n, one save each (one record each), term 1. */
  async function written(n: number, segmentBytes?: number): Promise<void> {
    const store = await open(segmentBytes);
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
    for (let i = 1; i <= n; i++) await store.save({ entries: [entry(i, 1, `entry-${i}`)] });
    await store.close();
  }

  async function reopened(check: (s: DiskLogStore) => void | Promise<void>): Promise<void> {
    const store = await open();
    try {
      await check(store);
    } finally {
      await store.close();
    }
  }

  const texts = (s: DiskLogStore, lo: number, hi: number) => s.entries(lo, hi).map((e) => new TextDecoder().decode(e.data));

  test('entries whose records lie in two buffers (two received frames) are written as they lie, not copied together', async () => {
    const store = await open();
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
    // Past Buffer's 4 KiB pool: each buffer of records is an ArrayBuffer of its own.
    const bodies = ['one', 'two', 'three'].map((t) => t.repeat(2000));
    const ents = bodies.map((t, i) => entry(i + 1, 1, t));
    encodeRecords(ents.slice(0, 2));
    encodeRecords(ents.slice(2));
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      await store.save({ entries: ents });
      expect(concat).not.toHaveBeenCalled();
    } finally {
      concat.mockRestore();
      await store.close();
    }
    await reopened((s) => expect(texts(s, 1, 4)).toEqual(bodies));
  });

  test('a record cut short by a crash is dropped on open, and the log goes on from there', async () => {
    await written(10);
    const path = lastSegment();
    truncateSync(path, statSync(path).size - 5); // the last write was torn
    await reopened(async (s) => {
      expect(s.lastIndex()).toBe(9);
      expect(s.repairedTail).toMatchObject({ reason: expect.stringMatching(/runs past the end|partial/) });
      expect(texts(s, 8, 10)).toEqual(['entry-8', 'entry-9']);
      await s.save({ entries: [entry(10, 1, 'again-10')] });
    });
    await reopened((s) => {
      expect(s.repairedTail).toBeUndefined();
      expect(texts(s, 9, 11)).toEqual(['entry-9', 'again-10']);
    });
  });

  test('a flipped byte in the last record fails its checksum and the record is dropped', async () => {
    await written(10);
    const path = lastSegment();
    const bytes = readFileSync(path);
    bytes[bytes.length - 2] ^= 0x40; // inside the data of entry 10
    writeFileSync(path, bytes);
    await reopened((s) => {
      expect(s.lastIndex()).toBe(9);
      expect(s.repairedTail?.reason).toMatch(/checksum/);
      expect(s.repairedTail?.droppedBytes).toBe(4 + 21 + 'entry-10'.length);
    });
    expect(statSync(path).size).toBe(readFileSync(path).length); // cut on disk, not only in memory
  });

  test('garbage after the last record (a write that never finished) is cut off', async () => {
    await written(3);
    appendFileSync(lastSegment(), Buffer.from([0, 0, 0x10, 0, 1, 2, 3]));
    await reopened((s) => {
      expect(s.lastIndex()).toBe(3);
      expect(s.repairedTail?.droppedBytes).toBe(7);
    });
  });

  test('damage in a segment that is not the last is corruption, never silently cut (read without its sidecar)', async () => {
    await written(40, 256); // several segments
    expect(segmentFiles().length).toBeGreaterThan(2);
    const path = join(segDir(), segmentFiles()[0]);
    rmSync(path.replace(/\.seg$/, '.idx'));
    const bytes = readFileSync(path);
    bytes[40] ^= 0x01;
    writeFileSync(path, bytes);
    await expect(open()).rejects.toThrow(StoreCorruptError);
    await expect(open()).rejects.toThrow(/segment \d+ is damaged/);
  });

  test('damage in a sealed segment read through its sidecar is found when the entry is read', async () => {
    await written(40, 256);
    const path = join(segDir(), segmentFiles()[0]);
    const bytes = readFileSync(path);
    bytes[40] ^= 0x01; // inside entry 1's record
    writeFileSync(path, bytes);
    await reopened((s) => {
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']);
      expect(() => s.entries(1, 2)).toThrow(StoreCorruptError);
      expect(texts(s, 2, 4)).toEqual(['entry-2', 'entry-3']);
    });
  });

  test('a segment missing from the middle of the log is corruption', async () => {
    await written(40, 256);
    const files = segmentFiles();
    const middle = join(segDir(), files[1]);
    writeFileSync(middle, readFileSync(middle).subarray(0, 16)); // header only: its entries are gone
    await expect(open()).rejects.toThrow(/missing/);
  });

  test('a replaced suffix is read back replaced after a reopen, across segments', async () => {
    const store = await open(200);
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
    for (let i = 1; i <= 12; i++) await store.save({ entries: [entry(i, 1, `old-${i}`)] });
    await store.save({ hardState: { term: 2, vote: 'n2', commit: 4 }, entries: [entry(5, 2, 'new-5'), entry(6, 2, 'new-6')] });
    expect(store.lastIndex()).toBe(6);
    await store.close();
    await reopened((s) => {
      expect(s.lastIndex()).toBe(6);
      expect(texts(s, 3, 7)).toEqual(['old-3', 'old-4', 'new-5', 'new-6']);
      expect(s.term(6)).toBe(2);
      expect(s.initialState().hardState).toEqual({ term: 2, vote: 'n2', commit: 4 });
    });
  });

  test('a log rewritten from its start in a later segment reopens after the dead segment was deleted', async () => {
    // Found by the sidecar property: entries 1..7 in segment 0; then 6, 2 and 1
    // rewritten at newer terms in segment 1. Opening deletes segment 0 (nothing in it
    // is live), and segment 1 alone starts with entry 6: not a gap, as entry 1 follows.
    const store = await open(200);
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
    for (let i = 1; i <= 7; i++) await store.save({ entries: [entry(i, 1, `old-${i}`)] });
    let term = 1;
    for (const from of [6, 2, 1]) await store.save({ hardState: { term: ++term, vote: 'n1', commit: 0 }, entries: [entry(from, term, `new-${from}`)] });
    await store.close();
    await reopened(() => {});
    expect(segmentFiles()).toHaveLength(1);
    await reopened((s) => {
      expect(s.lastIndex()).toBe(1);
      expect(texts(s, 1, 2)).toEqual(['new-1']);
    });
  });

  test('compaction deletes whole segments the log no longer reaches into', async () => {
    await written(60, 256);
    const before = segmentFiles();
    const store = await open(256);
    await store.compact({ meta: { index: 50, term: 1, conf: CONF }, data: new Uint8Array([1]) }, 45);
    await store.close();
    const after = segmentFiles();
    expect(after.length).toBeLessThan(before.length);
    expect(after.at(-1)).toBe(before.at(-1));
    await reopened((s) => {
      expect(s.firstIndex()).toBe(45);
      expect(texts(s, 45, 61)).toHaveLength(16);
    });
  });

  test('an installed snapshot moves the log to a new segment; the old ones are never read again', async () => {
    await written(10);
    const old = segmentFiles();
    const keep = join(dir, 'old-copy');
    copyFileSync(join(segDir(), old[0]), keep);
    const store = await open();
    await store.save({
      snapshot: { meta: { index: 20, term: 3, conf: CONF }, data: new TextEncoder().encode('image-20') },
      hardState: { term: 3, vote: '', commit: 20 },
      entries: [entry(21, 3, 'after-21')],
    });
    await store.close();
    expect(segmentFiles()).not.toContain(old[0]);
    // As if the crash came before the old segment was deleted: it is skipped and removed.
    copyFileSync(keep, join(segDir(), old[0]));
    await reopened((s) => {
      expect(s.firstIndex()).toBe(21);
      expect(s.lastIndex()).toBe(21);
      expect(texts(s, 21, 22)).toEqual(['after-21']);
    });
    expect(existsSync(join(segDir(), old[0]))).toBe(false);
  });

  test('a crash between the new term and its entries leaves a store that opens, with no commit index past the log', async () => {
    const store = await open();
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)] });
    // The records (new term and vote) reach LevelDB; the segment write never happens.
    const internals = store as unknown as { segments: { append(): Promise<void> } };
    internals.segments.append = () => Promise.reject(new Error('power lost'));
    await expect(store.save({ hardState: { term: 2, vote: 'n2', commit: 4 }, entries: [entry(2, 2), entry(3, 2), entry(4, 2)] })).rejects.toThrow(/power lost/);
    await store.close();
    await reopened((s) => {
      expect(s.lastIndex()).toBe(1);
      expect(s.initialState().hardState).toEqual({ term: 2, vote: 'n2', commit: 1 });
    });
  });

  test('entries read from disk are checked: a flipped byte in an older record is an error, not data', async () => {
    await written(10, 256);
    const store = await open(256);
    try {
      const path = join(segDir(), segmentFiles()[0]);
      const bytes = readFileSync(path);
      bytes[16 + 4 + 21] ^= 0x01; // the first data byte of entry 1
      writeFileSync(path, bytes);
      expect(() => store.entries(1, 2)).toThrow(StoreCorruptError);
    } finally {
      await store.close();
    }
  });
  describe('zeros written ahead of the newest segment (segment-zeroes.ts)', () => {
    /** Bytes of the records of entries written by `written` with these texts. */
    const recordsBytes = (texts: string[]) => 16 + texts.reduce((n, t) => n + 4 + 21 + t.length, 0);
    const settle = () => new Promise((r) => setTimeout(r, 50));

    /** Entries 1..n saved one at a time, then the data dir copied while the store is
     *  still open (what a kill -9 leaves: every save was durable when it returned). */
    async function crashedAfter(n: number, segmentBytes?: number): Promise<void> {
      const store = await open(segmentBytes);
      await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
      for (let i = 1; i <= n; i++) await store.save({ entries: [entry(i, 1, `entry-${i}`)] });
      await settle(); // the zeros in flight land
      const image = `${dir}-crash`;
      cpSync(dir, image, { recursive: true });
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      cpSync(image, dir, { recursive: true });
      rmSync(image, { recursive: true, force: true });
    }

    const texts10 = Array.from({ length: 10 }, (_, i) => `entry-${i + 1}`);

    test('small appends write into zeros the file already has; a crash leaves them and opening reads them as the end, not as damage', async () => {
      await crashedAfter(10);
      const size = statSync(lastSegment()).size;
      expect(size).toBeGreaterThan(recordsBytes(texts10)); // zeros ahead of the records
      expect(readFileSync(lastSegment()).subarray(recordsBytes(texts10)).every((b) => b === 0)).toBe(true);
      await reopened(async (s) => {
        expect(s.repairedTail).toBeUndefined();
        expect(s.lastIndex()).toBe(10);
        expect(texts(s, 9, 11)).toEqual(['entry-9', 'entry-10']);
        await s.save({ entries: [entry(11, 1, 'entry-11')] });
      });
      await reopened((s) => {
        expect(s.repairedTail).toBeUndefined();
        expect(texts(s, 10, 12)).toEqual(['entry-10', 'entry-11']);
      });
    });

    test('a clean close cuts the newest segment to its records', async () => {
      await written(10);
      expect(statSync(lastSegment()).size).toBe(recordsBytes(texts10));
    });

    test('a record torn in the middle of the zeros is cut off like any torn tail', async () => {
      await crashedAfter(3);
      const path = lastSegment();
      const bytes = readFileSync(path);
      const end = recordsBytes(['entry-1', 'entry-2', 'entry-3']);
      bytes.set([0, 0, 0, 29, 1, 2, 3], end); // the start of a record whose rest never reached the disk
      writeFileSync(path, bytes);
      await reopened((s) => {
        expect(s.lastIndex()).toBe(3);
        expect(s.repairedTail?.reason).toMatch(/checksum/);
        expect(s.repairedTail?.offset).toBe(end);
      });
      expect(statSync(path).size).toBe(end);
    });

    test('a segment is cut to its records before it is sealed: after a crash only the newest one is read record by record', async () => {
      await crashedAfter(40, 256);
      const files = segmentFiles();
      expect(files.length).toBeGreaterThan(2);
      for (const f of files.slice(0, -1)) {
        const bytes = readFileSync(join(segDir(), f));
        expect(bytes.at(-1)).not.toBe(0); // ends with its last record (entry text), no zeros
      }
      await reopened((s) => {
        expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']);
        expect(s.lastIndex()).toBe(40);
        expect(texts(s, 1, 3)).toEqual(['entry-1', 'entry-2']);
      });
    });
  });
});
