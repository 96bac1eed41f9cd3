// A snapshot streamed with the entries the leader keeps below it: the leader's
// composite source, the follower's spool (chunks in order, resends, gaps, restarts,
// damage) and the install, including a crash at each of its steps.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLogStore, SEGMENTS_DIR } from '../../src/node/storage/disk-log-store.js';
import { SnapshotGoneError } from '../../src/raft/storage/log-store.js';
import { nextChunk, SnapshotReceiver, startStream, type ChunkOutcome } from '../../src/raft/snapshot-transfer.js';
import type { ConfState, Entry, Snapshot, SnapshotSource } from '../../src/raft/types.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const CONF: ConfState = { voters: ['n1', 'n2', 'n3'] };
const IMAGE = new TextEncoder().encode('the state machine image, metadata only');

function body(i: number): Uint8Array {
  // Sizes vary so that records and chunks never line up.
  return new TextEncoder().encode(`body-${i}-`.padEnd(20 + ((i * 37) % 300), String.fromCharCode(97 + (i % 26))));
}

const plain = (ents: Entry[]) => ents.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));

describe('snapshot streams that carry the entries kept below the snapshot', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = makeTempDir('mom-snapstream-');
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d);
  });

  const open = (dir: string, layout: 'segments' | 'leveldb' = 'segments') =>
    DiskLogStore.open(dir, { nodeId: 'n', conf: CONF, segmentBytes: 4096, cacheEntries: 4, snapshotSliceBytes: 7, entryLayout: layout });

  /** A leader holding entries 1..400 (terms 1..3), a snapshot at 350 keeping entries from 120. */
  async function leaderStore(keepFrom = 120): Promise<DiskLogStore> {
    const store = await open(tempDir());
    await store.save({ hardState: { term: 3, vote: 'n', commit: 400 }, entries: [] });
    for (let i = 1; i <= 400; i += 20) {
      const ents: Entry[] = [];
      for (let k = i; k < i + 20; k++) ents.push({ index: k, term: 1 + Math.floor(k / 150), type: 'normal', data: body(k) });
      await store.save({ entries: ents });
    }
    await store.compact({ meta: { index: 350, term: 0, conf: CONF }, data: IMAGE }, keepFrom);
    return store;
  }

  /** Streams `source` into `receiver` in chunks of `chunkBytes`, following its answers. */
  function stream(source: SnapshotSource, receiver: SnapshotReceiver, chunkBytes: number, meddle?: (offset: number, data: Uint8Array) => Uint8Array | undefined): Snapshot {
    const s = startStream(source);
    for (let steps = 0; steps < 100_000; steps++) {
      const chunk = nextChunk(s, chunkBytes);
      const data = meddle ? meddle(chunk.offset, chunk.data) : chunk.data;
      if (data === undefined) continue; // lost: the leader resends what was not acknowledged
      const outcome: ChunkOutcome = receiver.accept('leader', 3, { ...chunk, data });
      if (outcome.kind === 'complete') return outcome.snapshot;
      s.acked = outcome.kind === 'progress' ? outcome.received : outcome.from;
    }
    throw new Error('the stream never completed');
  }

  const receiverOf = (store: DiskLogStore) => new SnapshotReceiver((meta) => store.snapshotSpool(meta));
  const spoolFiles = (dir: string) => (existsSync(join(dir, SEGMENTS_DIR)) ? readdirSync(join(dir, SEGMENTS_DIR)).filter((n) => n.endsWith('.spool') || n.endsWith('.adopt')) : []);

  async function expectSameLog(follower: DiskLogStore, leader: DiskLogStore): Promise<void> {
    expect(follower.firstIndex()).toBe(leader.firstIndex());
    expect(follower.lastIndex()).toBe(350);
    expect(follower.snapshot().meta).toEqual({ ...leader.snapshot().meta });
    expect(Buffer.from(follower.snapshot().data)).toEqual(Buffer.from(IMAGE));
    expect(follower.term(follower.firstIndex() - 1)).toBe(leader.term(leader.firstIndex() - 1));
    expect(plain(follower.entries(follower.firstIndex(), 351))).toEqual(plain(leader.entries(leader.firstIndex(), 351)));
  }

  test('the leader streams image and kept entries; the follower installs both and its log equals the leader\'s', async () => {
    const leader = await leaderStore();
    const source = leader.snapshotSource();
    expect(source.totalBytes).toBeGreaterThan(40 + IMAGE.length + 231 * 25);
    const fdir = tempDir();
    let follower = await open(fdir);
    await follower.save({ hardState: { term: 1, vote: '', commit: 3 }, entries: [1, 2, 3].map((i) => ({ index: i, term: 1, type: 'normal' as const, data: body(i) })) });
    const snapshot = stream(source, receiverOf(follower), 777);
    // What the state machine restores from: the image alone.
    expect(Buffer.from(snapshot.data)).toEqual(Buffer.from(IMAGE));
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    expect(spoolFiles(fdir)).toEqual([]);
    // The adopted segment is sealed: the next entry goes to a new one, and opening reads neither whole.
    await follower.save({ entries: [{ index: 351, term: 3, type: 'normal', data: body(351) }] });
    await follower.close();
    follower = await open(fdir);
    try {
      expect(follower.lastIndex()).toBe(351);
      expect(follower.scannedSegments.map((s) => s.reason)).toEqual(['the last segment']);
      expect(plain(follower.entries(120, 352)).slice(0, 231)).toEqual(plain(leader.entries(120, 351)));
      expect(follower.firstIndex()).toBe(120);
      // And the follower can stream it on in turn (it may lead later).
      const again = follower.snapshotSource();
      expect(again.totalBytes).toBe(source.totalBytes);
      expect(Buffer.from(again.read(0, again.totalBytes))).toEqual(Buffer.from(source.read(0, source.totalBytes)));
    } finally {
      await follower.close();
      await leader.close();
    }
  });

  test('lost chunks, resends from an offset and duplicates still assemble the same log', async () => {
    const leader = await leaderStore();
    const follower = await open(tempDir());
    let n = 0;
    const seen = new Set<number>();
    const snapshot = stream(leader.snapshotSource(), receiverOf(follower), 500, (offset, data) => {
      n++;
      if (n % 5 === 0 && !seen.has(offset)) {
        seen.add(offset);
        return undefined; // lost once
      }
      return data;
    });
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    // A gap (a chunk from ahead) asks for a resend from what it holds.
    const r = receiverOf(follower);
    const src = leader.snapshotSource();
    const first = nextChunk({ ...startStream(src) }, 300);
    expect(r.accept('leader', 3, first)).toEqual({ kind: 'progress', received: 300 });
    const ahead = nextChunk({ ...startStream(src), acked: 900 }, 300);
    expect(r.accept('leader', 3, ahead)).toEqual({ kind: 'resend', from: 300 });
    expect(r.accept('leader', 3, first)).toEqual({ kind: 'progress', received: 300 });
    r.reset();
    await follower.close();
    await leader.close();
  });

  test('tiny chunks split the header, the image and every record; the follower still assembles them', async () => {
    const leader = await leaderStore(300);
    const follower = await open(tempDir());
    const snapshot = stream(leader.snapshotSource(), receiverOf(follower), 7);
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    await follower.close();
    await leader.close();
  });

  test('a damaged record in the stream is refused: the stream starts over, and nothing is installed from it', async () => {
    const leader = await leaderStore();
    const fdir = tempDir();
    const follower = await open(fdir);
    const source = leader.snapshotSource();
    let damaged = false;
    const outcomes: string[] = [];
    const r = receiverOf(follower);
    const s = startStream(source);
    let snapshot: Snapshot | undefined;
    while (!snapshot) {
      const chunk = nextChunk(s, 1000);
      let data = chunk.data;
      if (!damaged && chunk.offset > 5000) {
        data = Uint8Array.from(data);
        data[10] ^= 0x20;
        damaged = true;
      }
      const o = r.accept('leader', 3, { ...chunk, data });
      outcomes.push(o.kind === 'resend' ? `resend ${o.from}` : o.kind);
      if (o.kind === 'complete') snapshot = o.snapshot;
      else s.acked = o.kind === 'progress' ? o.received : o.from;
    }
    expect(outcomes).toContain('resend 0');
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    expect(spoolFiles(fdir)).toEqual([]);
    await follower.close();
    await leader.close();
  });

  test('a follower restarted mid-stream asks for the stream from the start, and the old spool is deleted', async () => {
    const leader = await leaderStore();
    const fdir = tempDir();
    let follower = await open(fdir);
    const source = leader.snapshotSource();
    const s = startStream(source);
    let r = receiverOf(follower);
    for (let k = 0; k < 5; k++) {
      const o = r.accept('leader', 3, nextChunk(s, 1000));
      if (o.kind === 'progress') s.acked = o.received;
    }
    expect(spoolFiles(fdir)).toHaveLength(1);
    await follower.close(); // the process stops here
    follower = await open(fdir);
    expect(spoolFiles(fdir)).toEqual([]);
    r = receiverOf(follower);
    expect(r.accept('leader', 3, nextChunk(s, 1000))).toEqual({ kind: 'resend', from: 0 });
    s.acked = 0;
    const snapshot = stream(source, r, 1000);
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    await follower.close();
    await leader.close();
  });

  test.each([
    ['before the records name the adopted segment: the old log stays', 'write', 'old'],
    ['after the records name it, before its rename: the install completes on open', 'completeAdoption', 'new'],
  ] as const)('a crash %s', async (_what, step, expected) => {
    const leader = await leaderStore();
    const fdir = tempDir();
    let follower = await open(fdir);
    const old: Entry[] = [1, 2, 3].map((i) => ({ index: i, term: 1, type: 'normal', data: body(i) }));
    await follower.save({ hardState: { term: 1, vote: '', commit: 3 }, entries: old });
    const snapshot = stream(leader.snapshotSource(), receiverOf(follower), 4000);
    // The LevelDB writes go through the store's records; the adoption's last step is the store's own.
    const owner = step === 'write' ? (follower as unknown as { records: object }).records : follower;
    const internals = owner as unknown as Record<string, (...args: unknown[]) => Promise<void>>;
    const real = internals[step].bind(owner);
    let calls = 0;
    internals[step] = (...args: unknown[]) => {
      // The write that records the snapshot is the one that fails (the image slices go first).
      if (step === 'write' && (args[0] as unknown[]).length < 3) return real(...args);
      calls++;
      return Promise.reject(new Error('power lost'));
    };
    await expect(follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] })).rejects.toThrow(/power lost/);
    expect(calls).toBe(1);
    await follower.close();
    follower = await open(fdir);
    try {
      if (expected === 'old') {
        expect(follower.firstIndex()).toBe(1);
        expect(follower.lastIndex()).toBe(3);
        expect(plain(follower.entries(1, 4))).toEqual(plain(old));
      } else {
        await expectSameLog(follower, leader);
      }
      expect(spoolFiles(fdir)).toEqual([]);
    } finally {
      await follower.close();
      await leader.close();
    }
  });

  test('a leader keeping no entry below its snapshot streams the plain image, installed as before', async () => {
    const leader = await leaderStore(351);
    const source = leader.snapshotSource();
    expect(source.totalBytes).toBe(IMAGE.length);
    const follower = await open(tempDir());
    const snapshot = stream(source, receiverOf(follower), 5);
    expect(Buffer.from(snapshot.data)).toEqual(Buffer.from(IMAGE));
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    expect(follower.firstIndex()).toBe(351);
    expect(follower.lastIndex()).toBe(350);
    await follower.close();
    await leader.close();
  });

  test('a follower in the LevelDB layout stores the streamed entries as keys', async () => {
    const leader = await leaderStore();
    const fdir = tempDir();
    let follower = await open(fdir, 'leveldb');
    const snapshot = stream(leader.snapshotSource(), receiverOf(follower), 2048);
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 350 }, entries: [] });
    await expectSameLog(follower, leader);
    // A stream cut off by a stop leaves a spool file; the next open deletes it.
    const cut = receiverOf(follower);
    const s = startStream(leader.snapshotSource());
    for (let k = 0; k < 3; k++) {
      const o = cut.accept('leader', 3, nextChunk(s, 2048));
      if (o.kind === 'progress') s.acked = o.received;
    }
    expect(spoolFiles(fdir)).toHaveLength(1);
    await follower.close();
    follower = await open(fdir, 'leveldb');
    await expectSameLog(follower, leader);
    expect(spoolFiles(fdir)).toEqual([]);
    await follower.close();
    await leader.close();
  });

  test('a stream whose entries a later compaction dropped says so (SnapshotGoneError), and a fresh one streams the rest', async () => {
    const leader = await leaderStore();
    const source = leader.snapshotSource();
    source.read(0, 100);
    await leader.compact({ meta: { index: 380, term: 0, conf: CONF }, data: IMAGE }, 200);
    expect(() => source.read(source.totalBytes - 10, 10)).toThrow(SnapshotGoneError);
    const fresh = leader.snapshotSource();
    expect(fresh.meta.index).toBe(380);
    const follower = await open(tempDir());
    const snapshot = stream(fresh, receiverOf(follower), 3000);
    await follower.save({ snapshot, hardState: { term: 3, vote: '', commit: 380 }, entries: [] });
    expect(follower.firstIndex()).toBe(200);
    expect(plain(follower.entries(200, 381))).toEqual(plain(leader.entries(200, 381)));
    await follower.close();
    await leader.close();
  });
});
