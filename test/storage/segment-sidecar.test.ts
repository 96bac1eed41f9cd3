// The sidecar index of a sealed segment: opening reads it instead of the segment's
// records; every way it can be missing, damaged or stale falls back to reading the
// segment (and writes the sidecar again), and a crash between the steps of a roll
// leaves a log that opens to the same entries.
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DiskLogStore, SEGMENTS_DIR } from '../../src/node/storage/disk-log-store.js';
import type { ConfState } from '../../src/raft/types.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { entry } from './log-store-conformance.js';

const CONF: ConfState = { voters: ['n1', 'n2', 'n3'] };

describe('DiskLogStore sidecar indexes of sealed segments', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-idx-');
  });
  afterEach(() => removeDir(dir));

  const open = (segmentBytes = 256) => DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF, segmentBytes, cacheEntries: 2 });
  const segDir = () => join(dir, SEGMENTS_DIR);
  const files = (ext: string) => readdirSync(segDir()).filter((n) => n.endsWith(ext)).sort();
  const texts = (s: DiskLogStore, lo: number, hi: number) => s.entries(lo, hi).map((e) => new TextDecoder().decode(e.data));

  async function written(n: number): Promise<void> {
    const store = await open();
    await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
    for (let i = 1; i <= n; i++) await store.save({ entries: [entry(i, 1, `entry-${i}`)] });
    await store.close();
  }

  async function reopened<T>(check: (s: DiskLogStore) => T | Promise<T>): Promise<T> {
    const store = await open();
    try {
      return await check(store);
    } finally {
      await store.close();
    }
  }

  const all = (n: number) => Array.from({ length: n }, (_, k) => `entry-${k + 1}`);

  test('every sealed segment gets a sidecar when it rolls; opening reads only the last segment', async () => {
    await written(40);
    const segs = files('.seg');
    expect(segs.length).toBeGreaterThan(3);
    expect(files('.idx')).toEqual(segs.slice(0, -1).map((n) => n.replace('.seg', '.idx')));
    await reopened((s) => {
      expect(s.scannedSegments).toEqual([{ seq: Number(segs.at(-1)!.slice(0, 16)), reason: 'the last segment' }]);
      expect(s.lastIndex()).toBe(40);
      expect(texts(s, 1, 41)).toEqual(all(40));
      expect(s.term(17)).toBe(1);
    });
  });

  test('a torn tail of the last segment is cut while the sealed ones are read through their sidecars', async () => {
    await written(40);
    const last = join(segDir(), files('.seg').at(-1)!);
    truncateSync(last, readFileSync(last).length - 5);
    await reopened(async (s) => {
      expect(s.lastIndex()).toBe(39);
      expect(s.repairedTail?.reason).toMatch(/runs past the end|partial/);
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']);
      expect(texts(s, 1, 40)).toEqual(all(39));
      await s.save({ entries: [entry(40, 1, 'again-40')] });
    });
    await reopened((s) => expect(texts(s, 39, 41)).toEqual(['entry-39', 'again-40']));
  });

  test('a missing sidecar: the segment is read record by record and its sidecar written again', async () => {
    await written(40);
    const idx = files('.idx')[1];
    rmSync(join(segDir(), idx));
    await reopened((s) => {
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['no sidecar', 'the last segment']);
      expect(texts(s, 1, 41)).toEqual(all(40));
    });
    expect(existsSync(join(segDir(), idx))).toBe(true);
    await reopened((s) => expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']));
  });

  test('a damaged sidecar (a flipped byte, a cut) is not used', async () => {
    await written(40);
    const [a, b] = files('.idx').map((n) => join(segDir(), n));
    const flipped = readFileSync(a);
    flipped[30] ^= 0x04; // inside the first record's term
    writeFileSync(a, flipped);
    truncateSync(b, readFileSync(b).length - 3);
    await reopened((s) => {
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the sidecar fails its checksum', 'the sidecar has a wrong length', 'the last segment']);
      expect(texts(s, 1, 41)).toEqual(all(40));
    });
    // Both rewritten: the next open reads neither segment.
    await reopened((s) => expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']));
  });

  test('a sidecar written for another size of its segment is not used', async () => {
    await written(40);
    const seg = join(segDir(), files('.seg')[0]);
    const bytes = readFileSync(seg);
    // The segment cut back to fewer whole records than its sidecar lists: those are gone.
    const recordLength = 4 + 21 + 'entry-1'.length;
    writeFileSync(seg, bytes.subarray(0, bytes.length - recordLength));
    // Entries missing between segments: the scan (not the sidecar) tells.
    await expect(open()).rejects.toThrow(/missing/);
  });

  test('a crash after the sidecar was written but before the next segment existed', async () => {
    await written(40);
    // The newest segment never got created: drop it; the now-last segment has a sidecar.
    const segs = files('.seg');
    const newest = segs.at(-1)!;
    const lost = readFileSync(join(segDir(), newest));
    rmSync(join(segDir(), newest));
    const entriesLost = (lost.length - 16) / (4 + 21 + 'entry-40'.length);
    const last = 40 - Math.round(entriesLost);
    const lastSeq = segs.at(-2)!;
    const sealedBytes = readFileSync(join(segDir(), lastSeq)).length;
    expect(existsSync(join(segDir(), lastSeq.replace('.seg', '.idx')))).toBe(true);
    await reopened(async (s) => {
      expect(s.lastIndex()).toBe(last);
      // The last segment is sealed (its sidecar matches it): nothing is read record by record.
      expect(s.scannedSegments).toEqual([]);
      for (let i = last + 1; i <= 50; i++) await s.save({ entries: [entry(i, 1, `entry-${i}`)] });
    });
    // The sealed segment took no appends: they went to a new one.
    expect(readFileSync(join(segDir(), lastSeq)).length).toBe(sealedBytes);
    expect(files('.seg').length).toBeGreaterThan(segs.length - 1);
    await reopened((s) => {
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']);
      expect(texts(s, 1, 51)).toEqual(all(50));
    });
  });

  test('a last segment that took appends after its sidecar was written is read, and its sidecar dropped', async () => {
    await written(40);
    const segs = files('.seg');
    rmSync(join(segDir(), segs.at(-1)!));
    const lastSeg = join(segDir(), segs.at(-2)!);
    // Bytes appended after the sidecar (as if the store had not known it was sealed).
    writeFileSync(lastSeg, Buffer.concat([readFileSync(lastSeg), Buffer.from([0, 0, 0, 1])]));
    await reopened((s) => {
      expect(s.scannedSegments.map((x) => x.reason)).toEqual(['the last segment']);
      expect(s.repairedTail?.droppedBytes).toBe(4);
    });
    expect(existsSync(lastSeg.replace('.seg', '.idx'))).toBe(false);
  });

  test('a sidecar left half-written (its temporary file) and sidecars of deleted segments are removed', async () => {
    await written(40);
    writeFileSync(join(segDir(), '0000000000000099.idx.tmp'), 'partial');
    writeFileSync(join(segDir(), '0000000000000077.idx'), 'orphan');
    await reopened((s) => expect(texts(s, 1, 41)).toEqual(all(40)));
    expect(existsSync(join(segDir(), '0000000000000099.idx.tmp'))).toBe(false);
    expect(existsSync(join(segDir(), '0000000000000077.idx'))).toBe(false);
  });

  test('compaction deletes the sidecars with their segments', async () => {
    await written(60);
    const store = await open();
    await store.compact({ meta: { index: 55, term: 1, conf: CONF }, data: new Uint8Array([1]) });
    await store.close();
    const segs = files('.seg').map((n) => n.slice(0, 16));
    for (const idx of files('.idx')) expect(segs).toContain(idx.slice(0, 16));
  });

  test('property: opening through sidecars gives the log a full scan gives (suffixes replaced, compactions)', async () => {
    type Op = { kind: 'append'; from: number; count: number } | { kind: 'compact'; back: number; keep: number } | { kind: 'reopen' };
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), from: fc.integer({ min: 0, max: 6 }), count: fc.integer({ min: 1, max: 9 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 8 }), keep: fc.integer({ min: 0, max: 30 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const)}) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops: Op[]) => {
        removeDir(dir);
        let store = await open(200);
        let term = 1;
        try {
          await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
          for (const o of ops) {
            if (o.kind === 'append') {
              // Back `from` entries (never below the log start), a newer term when replacing.
              const first = Math.max(store.firstIndex(), store.lastIndex() + 1 - o.from, store.snapshot().meta.index + 1);
              if (first <= store.lastIndex()) term++;
              const ents = Array.from({ length: o.count }, (_, k) => entry(first + k, term, `t${term}-${first + k}`));
              await store.save({ hardState: { term, vote: 'n1', commit: 0 }, entries: ents });
            } else if (o.kind === 'compact') {
              const at = store.lastIndex() - o.back;
              if (at > store.snapshot().meta.index) await store.compact({ meta: { index: at, term: 0, conf: CONF }, data: new Uint8Array([at & 255]) }, at + 1 - o.keep);
            } else {
              await store.close();
              store = await open(200);
            }
          }
        } finally {
          await store.close();
        }
        const view = (s: DiskLogStore) => ({
          first: s.firstIndex(),
          last: s.lastIndex(),
          terms: Array.from({ length: s.lastIndex() - s.firstIndex() + 2 }, (_, k) => s.term(s.firstIndex() - 1 + k)),
          texts: s.lastIndex() >= s.firstIndex() ? texts(s, s.firstIndex(), s.lastIndex() + 1) : [],
        });
        const viaSidecars = await reopened(view);
        for (const idx of files('.idx')) rmSync(join(segDir(), idx));
        const viaScan = await reopened(view);
        expect(viaSidecars).toEqual(viaScan);
      }),
      { numRuns: 60 },
    );
  });
});
