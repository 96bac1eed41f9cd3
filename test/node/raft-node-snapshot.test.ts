// Snapshots taken by the driver: the image is pulled a chunk at a time while the node
// keeps ticking, applying and answering, and the log keeps a margin below the snapshot.
// Progress is shown by counting what happened between chunk pulls, never by wall time.
import { Registry } from 'prom-client';
import { freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { loadConfig, type NodeConfig } from '../../src/node/config.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftNode } from '../../src/node/raft-node.js';
import type { ApplyContext, EntryReader } from '../../src/node/state-machine.js';
import { DiskLogStore } from '../../src/node/storage/disk-log-store.js';
import { encodePut, encodeTick, KvStateMachine } from '../../scripts/kv/state-machine.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { join } from 'node:path';

const T = 90_000;
const SNAPSHOT_EVERY = 20;
const RETAIN = 5;
/** Applies of each kind the chunk source waits to see between its pulls. */
const WANT_PUTS = SNAPSHOT_EVERY + 5; // more than snapshotEvery: a second snapshot would be due
const WANT_TICKS = 3;
/** Bounds a broken driver that pulls every chunk without yielding (the test then fails). */
const MAX_PULLS = 5_000_000;
const EMPTY = new Uint8Array(0);

interface Capture {
  index: number;
  image: Uint8Array;
  pulls: number;
  putsSeen: number;
  ticksSeen: number;
  finished: boolean;
}

/**
 * The key-value fixture with a chunk source that is as large as it needs to be: it
 * keeps handing out (empty) chunks until it has seen, between its pulls, WANT_PUTS
 * client puts and WANT_TICKS idle ticks applied after the capture, then the real image.
 * A driver that pulled the chunks on the loop without letting it run would never see
 * those applies.
 */
class ChunkedKv extends KvStateMachine {
  readonly captures: Capture[] = [];
  private putsApplied = 0;
  private lastIndex = 0;
  private active = 0;
  maxActive = 0;

  override apply(command: Uint8Array, ctx: ApplyContext) {
    const result = super.apply(command, ctx);
    this.lastIndex = ctx.index;
    if ('position' in result) this.putsApplied++;
    return result;
  }

  snapshotChunks(): Iterable<Uint8Array> {
    const cap: Capture = {
      index: this.lastIndex,
      image: this.snapshot(),
      pulls: 0,
      putsSeen: 0,
      ticksSeen: 0,
      finished: false,
    };
    this.captures.push(cap);
    const puts0 = this.putsApplied;
    const ticks0 = this.ticks;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const self = this;
    return (function* () {
      try {
        for (;;) {
          cap.pulls++;
          cap.putsSeen = self.putsApplied - puts0;
          cap.ticksSeen = self.ticks - ticks0;
          if ((cap.putsSeen >= WANT_PUTS && cap.ticksSeen >= WANT_TICKS) || cap.pulls >= MAX_PULLS) break;
          yield EMPTY;
        }
        yield cap.image;
        cap.finished = true;
      } finally {
        self.active--;
      }
    })();
  }
}

async function config(dir: string, extra: string[] = []): Promise<NodeConfig> {
  const grpc = await freePort();
  return loadConfig(
    [
      '--data-dir', dir, '--grpc-listen', `127.0.0.1:${grpc}`, '--tick-ms', '10', '--election-ticks', '5',
      '--snapshot-every', String(SNAPSHOT_EVERY), '--snapshot-retain-entries', String(RETAIN), ...extra,
    ],
    {},
  );
}

async function snapshotsTaken(registry: Registry): Promise<number> {
  const values = (await registry.getSingleMetric('mom_raft_snapshots_total')!.get()).values;
  return values.find((v) => v.labels.kind === 'taken')?.value ?? 0;
}

const put = (k: string) => encodePut(k, Buffer.from(`v-${k}`));

/** A single-node cluster: waits until the node leads and is ready to serve. */
async function waitLeader(node: RaftNode): Promise<void> {
  await waitFor(async () => (node.status().role === 'leader' && node.isReady() ? true : undefined), 10_000, () => JSON.stringify(node.status()));
}

describe('RaftNode snapshots', () => {
  let dir: string;
  const nodes: RaftNode[] = [];
  beforeEach(() => {
    dir = makeTempDir('mom-node-snap-');
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    removeDir(dir);
  });

  test('the loop keeps ticking and answering while a large snapshot is encoded; the log keeps a margin', async () => {
    const cfg = await config(dir);
    const kv = new ChunkedKv({ trackOrder: true });
    const registry = new Registry();
    const node = await RaftNode.start({
      config: cfg, stateMachine: kv, logger: silentLogger(), registry, idleTickCommand: encodeTick, idleTickMs: 20,
    });
    nodes.push(node);
    await waitLeader(node);

    let n = 0;
    while (kv.captures.length === 0) await node.propose(put(`k${n++}`));
    const cap = kv.captures[0];
    expect(cap.finished).toBe(false);

    // While the image is being pulled: proposals and read barriers are answered...
    for (let i = 0; i < WANT_PUTS; i++) await node.propose(put(`k${n++}`));
    await node.readBarrier();
    // ...and, once idle, the tick timer's proposals commit too; then the image completes.
    await waitFor(async () => ((await snapshotsTaken(registry)) >= 1 ? true : undefined), 60_000, () => JSON.stringify(cap, (k, v) => (k === 'image' ? undefined : v)));

    expect(cap.pulls).toBeLessThan(MAX_PULLS);
    expect(cap.putsSeen).toBeGreaterThanOrEqual(WANT_PUTS);
    expect(cap.ticksSeen).toBeGreaterThanOrEqual(WANT_TICKS);
    expect(kv.maxActive).toBe(1); // more than snapshotEvery entries applied meanwhile, still one at a time
    const total = n;
    await node.stop();
    nodes.splice(0);
    const hash = kv.stateHash(); // after stop: no idle tick applies any more

    // On disk: the snapshot at the captured index with exactly the captured image,
    // and RETAIN entries kept below it.
    const store = await DiskLogStore.open(join(dir, 'raft'), { nodeId: 'n1', conf: { voters: ['n1'] } });
    try {
      const snap = store.snapshot();
      expect(snap.meta.index).toBe(cap.index);
      expect(snap.meta.term).toBe(store.term(cap.index));
      expect(Buffer.from(snap.data).equals(Buffer.from(cap.image))).toBe(true);
      expect(store.firstIndex()).toBe(cap.index + 1 - RETAIN);
      expect(store.lastIndex()).toBeGreaterThan(cap.index);
    } finally {
      await store.close();
    }

    // A restart restores the snapshot and skips the kept entries it already covers.
    const again = new ChunkedKv({ trackOrder: true });
    const second = await RaftNode.start({ config: cfg, stateMachine: again, logger: silentLogger(), registry: new Registry() });
    nodes.push(second);
    await waitLeader(second);
    // The commit index is not persisted: the entries above the snapshot are applied once
    // the restarted leader commits in its term, which may come just after it is ready.
    await waitFor(async () => ((again.putOrder()?.length ?? 0) >= total ? true : undefined), 10_000, () => `${(again.putOrder()?.length ?? 0)} of ${total} applied`);
    expect(again.putOrder()).toEqual(Array.from({ length: total }, (_, i) => `k${i}`));
    expect(again.stateHash()).toBe(hash);
  }, T);

  test('the log keeps every entry from the state machine\'s retainFrom() on, and the metrics say where it starts', async () => {
    const cfg = await config(dir);
    /** Pins the entry of its third put, as the broker pins the send of a queued message. */
    class PinningKv extends KvStateMachine {
      pinned: number | undefined;
      override apply(command: Uint8Array, ctx: ApplyContext) {
        const result = super.apply(command, ctx);
        if ('position' in result && result.position === 2) this.pinned = ctx.index;
        return result;
      }
      retainFrom(): number | undefined {
        return this.pinned;
      }
    }
    const kv = new PinningKv({ trackOrder: true });
    const registry = new Registry();
    const node = await RaftNode.start({ config: cfg, stateMachine: kv, logger: silentLogger(), registry });
    nodes.push(node);
    await waitLeader(node);
    for (let i = 0; i < 3 * SNAPSHOT_EVERY; i++) await node.propose(put(`k${i}`));
    await waitFor(async () => ((await snapshotsTaken(registry)) >= 2 ? true : undefined), 10_000, () => 'fewer than two snapshots taken');
    const pinned = kv.pinned!;
    const firstIndex = (await registry.getSingleMetric('mom_raft_log_first_index')!.get()).values[0].value;
    expect(firstIndex).toBe(pinned);
    expect((await registry.getSingleMetric('mom_raft_snapshot_bytes')!.get()).values[0].value).toBeGreaterThan(0);
    await node.stop();
    nodes.splice(0);

    const store = await DiskLogStore.open(join(dir, 'raft'), { nodeId: 'n1', conf: { voters: ['n1'] } });
    try {
      // Far more than RETAIN entries below the snapshot, all readable.
      expect(store.snapshot().meta.index - pinned).toBeGreaterThan(2 * RETAIN);
      expect(store.firstIndex()).toBe(pinned);
      expect(store.entries(pinned, pinned + 1)).toHaveLength(1);
    } finally {
      await store.close();
    }
  }, T);

  test('the proposer\'s answer goes through StateMachine.answer, which reads earlier entries, also below a snapshot', async () => {
    const cfg = await config(dir);
    /** Pins its first put (as the broker pins a queued message's send) and answers every
     *  put with that entry's command, read from the log as the broker reads bodies. */
    class AnsweringKv extends KvStateMachine {
      first: number | undefined;
      override apply(command: Uint8Array, ctx: ApplyContext) {
        const result = super.apply(command, ctx);
        if ('position' in result) this.first ??= ctx.index;
        return result;
      }
      retainFrom(): number | undefined {
        return this.first;
      }
      answer(result: unknown, read: EntryReader): unknown {
        return { result, first: this.first === undefined ? undefined : read(this.first) };
      }
    }
    const kv = new AnsweringKv({ trackOrder: true });
    const registry = new Registry();
    const node = await RaftNode.start({ config: cfg, stateMachine: kv, logger: silentLogger(), registry });
    nodes.push(node);
    await waitLeader(node);
    const firstAnswer = (await node.propose(put('k0'))) as { first?: Uint8Array };
    expect(Buffer.from(firstAnswer.first!).equals(Buffer.from(put('k0')))).toBe(true);
    for (let i = 1; i < 3 * SNAPSHOT_EVERY; i++) await node.propose(put(`k${i}`));
    await waitFor(async () => ((await snapshotsTaken(registry)) >= 2 ? true : undefined), 10_000, () => 'fewer than two snapshots taken');
    const late = (await node.propose(put('last'))) as { result: { position: number }; first?: Uint8Array };
    expect(late.result.position).toBe(3 * SNAPSHOT_EVERY);
    expect(Buffer.from(late.first!).equals(Buffer.from(put('k0')))).toBe(true);
  }, T);

  test('large entries are snapshotted by bytes, long before snapshotEvery entries', async () => {
    const cfg = await config(dir, ['--snapshot-every', '100000', '--snapshot-log-bytes', '20000', '--snapshot-log-percent', '0']);
    const kv = new KvStateMachine({ trackOrder: true });
    const registry = new Registry();
    const node = await RaftNode.start({ config: cfg, stateMachine: kv, logger: silentLogger(), registry });
    nodes.push(node);
    await waitLeader(node);
    const big = 'v'.repeat(4000);
    for (let i = 0; i < 12; i++) await node.propose(encodePut(`k${i}`, Buffer.from(big)));
    await waitFor(async () => ((await snapshotsTaken(registry)) >= 1 ? true : undefined), 10_000, () => 'no snapshot taken by bytes');
  }, T);

  test('a state machine without snapshotChunks is snapshotted with snapshot()', async () => {
    const cfg = await config(dir);
    const kv = new KvStateMachine({ trackOrder: true });
    const registry = new Registry();
    const node = await RaftNode.start({ config: cfg, stateMachine: kv, logger: silentLogger(), registry });
    nodes.push(node);
    await waitLeader(node);
    for (let i = 0; i < SNAPSHOT_EVERY + 2; i++) await node.propose(put(`k${i}`));
    await waitFor(async () => ((await snapshotsTaken(registry)) >= 1 ? true : undefined), 10_000, () => 'no snapshot taken');
    await node.stop();
    nodes.splice(0);
    const hash = kv.stateHash();

    const again = new KvStateMachine({ trackOrder: true });
    const second = await RaftNode.start({ config: cfg, stateMachine: again, logger: silentLogger(), registry: new Registry() });
    nodes.push(second);
    await waitLeader(second);
    await waitFor(async () => ((again.putOrder()?.length ?? 0) >= SNAPSHOT_EVERY + 2 ? true : undefined), 10_000, () => `${(again.putOrder()?.length ?? 0)} applied`);
    expect(again.stateHash()).toBe(hash);
    expect(again.putOrder()).toHaveLength(SNAPSHOT_EVERY + 2);
  }, T);
});
