// Small synced appends written on the event loop (segments/loop-writes.ts): when a
// caller that may block gets one, and how a slow one sends the next ones to the pool.
import { execFileSync } from 'node:child_process';
import { closeSync, open, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLogStore, SEGMENTS_DIR } from '../../src/node/storage/disk-log-store.js';
import { LOOP_WRITE_MAX_BYTES, LOOP_WRITE_PAUSE_MS, LoopWrites, SLOW_LOOP_WRITE_MS } from '../../src/node/storage/segments/loop-writes.js';
import type { ConfState } from '../../src/raft/types.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { entry } from './log-store-conformance.js';

const CONF: ConfState = { voters: ['n1', 'n2', 'n3'] };

describe('appends written on the event loop', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-loopw-');
  });
  afterEach(() => removeDir(dir));

  const segmentText = () => {
    const segs = join(dir, SEGMENTS_DIR);
    const last = readdirSync(segs).filter((n) => n.endsWith('.seg')).sort().at(-1)!;
    return readFileSync(join(segs, last)).toString('latin1');
  };

  test('a small append a caller may block on is in the file when save() returns, before any await', async () => {
    const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    try {
      await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
      // The segment is created by a first append; one too big for zeros ahead of it
      // (segment-zeroes.ts), so none are in flight when the small one comes.
      await store.save({ entries: [entry(1, 1, 'a'.repeat(LOOP_WRITE_MAX_BYTES + 1))] });
      // Every thread of libuv's pool is kept busy (opening a FIFO no one writes yet), so
      // a write through the pool cannot have happened when save() returns.
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
      const blocked = Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => open(fifo, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
      let saved: Promise<void>;
      try {
        saved = store.save({ entries: [entry(2, 1, 'on-the-loop')] }, true);
        expect(segmentText()).toContain('on-the-loop');
      } finally {
        closeSync(openSync(fifo, 'w'));
        for (const fd of await Promise.all(blocked)) closeSync(fd);
      }
      await saved;
      expect(store.lastIndex()).toBe(2);
    } finally {
      await store.close();
    }
    const reopened = await DiskLogStore.open(dir, { nodeId: 'n1', conf: CONF });
    try {
      expect(new TextDecoder().decode(reopened.entries(2, 3)[0].data)).toBe('on-the-loop');
    } finally {
      await reopened.close();
    }
  });

  test('only small appends go on the loop, and a slow one sends the next ones to the pool for a while', () => {
    let now = 1000;
    const writes = new LoopWrites(() => now);
    expect(writes.allows(LOOP_WRITE_MAX_BYTES)).toBe(true);
    expect(writes.allows(LOOP_WRITE_MAX_BYTES + 1)).toBe(false);

    writes.run(() => (now += SLOW_LOOP_WRITE_MS - 1));
    expect(writes.allows(100)).toBe(true);

    writes.run(() => (now += SLOW_LOOP_WRITE_MS));
    expect(writes.allows(100)).toBe(false);
    now += LOOP_WRITE_PAUSE_MS - 1;
    expect(writes.allows(100)).toBe(false);
    now += 1;
    expect(writes.allows(100)).toBe(true);
  });

  test('a write on the loop that throws still counts its time', () => {
    let now = 0;
    const writes = new LoopWrites(() => now);
    expect(() =>
      writes.run(() => {
        now += SLOW_LOOP_WRITE_MS;
        throw new Error('EIO');
      }),
    ).toThrow('EIO');
    expect(writes.allows(1)).toBe(false);
  });
});
