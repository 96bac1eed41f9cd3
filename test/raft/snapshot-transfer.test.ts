// The follower's side of InstallSnapshot: chunks taken in order into a spool (memory by
// default, the store's when it has one), gaps and duplicates, a spool that refuses bytes.
import { memorySpool, SnapshotReceiver } from '../../src/raft/snapshot-transfer.js';
import type { SnapshotSpool } from '../../src/raft/storage/log-store.js';
import type { SnapshotChunk, SnapshotMeta } from '../../src/raft/types.js';

const META: SnapshotMeta = { index: 9, term: 2, conf: { voters: ['a', 'b'] } };
const BYTES = Uint8Array.from({ length: 10 }, (_, i) => i);
const chunk = (offset: number, length: number): SnapshotChunk => ({
  meta: META,
  offset,
  totalBytes: BYTES.length,
  data: BYTES.subarray(offset, offset + length),
  done: offset + length >= BYTES.length,
});

test('without a store spool the stream is assembled in memory, gaps resent, duplicates ignored', () => {
  const r = new SnapshotReceiver();
  expect(r.accept('a', 1, chunk(0, 4))).toEqual({ kind: 'progress', received: 4 });
  expect(r.accept('a', 1, chunk(8, 2))).toEqual({ kind: 'resend', from: 4 });
  expect(r.accept('a', 1, chunk(0, 4))).toEqual({ kind: 'progress', received: 4 });
  const done = r.accept('a', 1, chunk(4, 6));
  expect(done.kind).toBe('complete');
  if (done.kind === 'complete') expect([...done.snapshot.data]).toEqual([...BYTES]);
  // A mid-stream chunk of a stream it does not hold: from the start.
  expect(r.accept('a', 1, chunk(4, 2))).toEqual({ kind: 'resend', from: 0 });
});

test('the store spool gets every byte in order once; one that refuses bytes restarts the stream and is discarded', () => {
  const log: string[] = [];
  let refuse = true;
  const spool = (): SnapshotSpool => {
    const inner = memorySpool(META);
    return {
      write(data) {
        if (refuse && data[0] === 4) {
          refuse = false;
          throw new Error('damaged');
        }
        log.push(`write ${data[0]}+${data.length}`);
        inner.write(data);
      },
      finish() {
        log.push('finish');
        return { meta: META, data: inner.finish().data.subarray(0, 3) };
      },
      discard() {
        log.push('discard');
      },
    };
  };
  const r = new SnapshotReceiver(spool);
  expect(r.accept('a', 1, chunk(0, 4))).toEqual({ kind: 'progress', received: 4 });
  expect(r.accept('a', 1, chunk(4, 6))).toEqual({ kind: 'resend', from: 0 });
  expect(r.accept('a', 1, chunk(0, 4))).toEqual({ kind: 'progress', received: 4 });
  const done = r.accept('a', 1, chunk(4, 6));
  // The snapshot is the spool's (e.g. the image alone), not the bytes received.
  if (done.kind !== 'complete') throw new Error(`expected complete, got ${done.kind}`);
  expect([...done.snapshot.data]).toEqual([0, 1, 2]);
  expect(log).toEqual(['write 0+4', 'discard', 'write 0+4', 'write 4+6', 'finish']);
  // A new stream from another sender discards a partial one.
  r.accept('a', 1, chunk(0, 4));
  r.accept('b', 2, chunk(0, 4));
  expect(log.slice(-3)).toEqual(['write 0+4', 'discard', 'write 0+4']);
});
