// The driver in one process, as a single-node cluster: fast, and enough to check the
// proposal path, group commit, recovery, snapshots and failure handling.
import { Registry } from 'prom-client';
import { freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { loadConfig, type NodeConfig } from '../../src/node/config.js';
import { InsufficientStorageError, NodeStoppedError, OverloadedError, StorageFailedError } from '../../src/node/errors.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { encodePut, encodeTick, KvStateMachine, type KvApplyResult } from '../../scripts/kv/state-machine.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const T = 30_000;

async function config(dir: string, extra: string[] = []): Promise<NodeConfig> {
  const grpc = await freePort();
  return loadConfig(['--data-dir', dir, '--grpc-listen', `127.0.0.1:${grpc}`, '--tick-ms', '10', '--election-ticks', '5', ...extra], {});
}

async function startNode(cfg: NodeConfig, kv = new KvStateMachine({ trackOrder: true }), registry = new Registry(), more: object = {}) {
  const node = await RaftNode.start({ config: cfg, stateMachine: kv, logger: silentLogger(), registry, ...more });
  await waitFor(async () => (node.status().role === 'leader' && node.isReady() ? true : undefined), 10_000, () => JSON.stringify(node.status()));
  return { node, kv, registry };
}

const put = (k: string, v = 'v') => encodePut(k, Buffer.from(v));

describe('RaftNode (single node)', () => {
  let dir: string;
  const nodes: RaftNode[] = [];
  beforeEach(() => {
    dir = makeTempDir('mom-node-');
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    removeDir(dir);
  });

  test('propose resolves with what apply returned; status and events follow', async () => {
    const { node } = await startNode(await config(dir));
    nodes.push(node);
    const applied: number[] = [];
    node.on('applied', (i: number) => applied.push(i));
    const r = (await node.propose(put('a'))) as KvApplyResult;
    expect(r.position).toBe(0);
    expect(r.index).toBeGreaterThan(0);
    const st = node.status();
    expect(st).toMatchObject({ nodeId: 'n1', role: 'leader', leaderId: 'n1', leaderUrl: 'http://127.0.0.1:8001' });
    expect(st.appliedIndex).toBe(r.index);
    expect(st.nodes).toEqual([{ id: 'n1', httpUrl: 'http://127.0.0.1:8001', role: 'leader', matchIndex: r.index }]);
    expect(applied).toContain(r.index);
    await node.readBarrier();
  }, T);

  test('the commit and applied index gauges follow the node when scraped', async () => {
    const { node, registry } = await startNode(await config(dir));
    nodes.push(node);
    const r = (await node.propose(put('gauged'))) as KvApplyResult;
    const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;
    expect(await gauge('mom_raft_applied_index')).toBeGreaterThanOrEqual(r.index);
    expect(await gauge('mom_raft_applied_index')).toBe(node.status().appliedIndex);
    expect(await gauge('mom_raft_commit_index')).toBe(node.status().commitIndex);
    // A leader without followers lags behind nobody.
    expect((await registry.getSingleMetric('mom_raft_follower_lag_entries')!.get()).values).toEqual([]);
  }, T);

  test('concurrent proposals share synced writes (group commit)', async () => {
    const { node, registry } = await startNode(await config(dir));
    nodes.push(node);
    const results = (await Promise.all(Array.from({ length: 300 }, (_, i) => node.propose(put(`k${i}`))))) as KvApplyResult[];
    expect(new Set(results.map((r) => r.position)).size).toBe(300);
    const batches = (await registry.getSingleMetric('mom_raft_persist_batch_entries')!.get()).values as { value: number; metricName?: string }[];
    const writes = batches.find((v) => v.metricName?.endsWith('_count'))!.value;
    expect(writes).toBeLessThan(300 / 4);
  }, T);

  test('a full pending queue answers OverloadedError', async () => {
    const { node } = await startNode(await config(dir, ['--max-pending-proposals', '10']));
    nodes.push(node);
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => node.propose(put(`k${i}`))));
    const overloaded = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof OverloadedError);
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(10);
    expect(overloaded.length).toBe(40);
  }, T);

  test('pending proposals beyond maxPendingProposalBytes answer OverloadedError', async () => {
    const { node } = await startNode(await config(dir, ['--max-pending-proposal-bytes', '10000']));
    nodes.push(node);
    // Each put carries 1000 value bytes: at most 10 fit under the byte limit at once (the
    // count limit, 10,000, is far away).
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => node.propose(put(`k${i}`, 'x'.repeat(1000)))));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e instanceof OverloadedError && e.limit === 'bytes')).toBe(true);
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThan(10);
    // Once they committed, their bytes no longer count.
    await node.propose(put('later', 'x'.repeat(1000)));
  }, T);

  test('a lone proposal larger than maxPendingProposalBytes is still accepted', async () => {
    const { node } = await startNode(await config(dir, ['--max-pending-proposal-bytes', '100']));
    nodes.push(node);
    await node.propose(put('big', 'x'.repeat(1000)));
  }, T);

  test('the disk-space alarm follows the free space of the data dir', async () => {
    let free = 5 * 1024 * 1024;
    const probed: string[] = [];
    const probe = (d: string) => {
      probed.push(d);
      return Promise.resolve({ bavail: free, bsize: 1 });
    };
    const cfg = await config(dir, ['--min-free-disk-bytes', String(16 * 1024 * 1024)]);
    const { node } = await startNode(cfg, undefined, undefined, { freeSpaceProbe: probe, diskCheckIntervalMs: 20 });
    nodes.push(node);
    expect(probed[0]).toBe(cfg.dataDir);
    expect(node.storageRefusal()).toBeInstanceOf(InsufficientStorageError);
    // The node itself keeps committing (the API decides what a low disk refuses).
    await node.propose(put('still'));
    free = 32 * 1024 * 1024;
    await waitFor(async () => (node.storageRefusal() === undefined ? true : undefined), 10_000, () => 'alarm still on');
  }, T);

  test('--min-free-disk-bytes 0 turns the disk-space alarm off', async () => {
    let probes = 0;
    const probe = () => {
      probes++;
      return Promise.resolve({ bavail: 0, bsize: 4096 });
    };
    const { node } = await startNode(await config(dir, ['--min-free-disk-bytes', '0']), undefined, undefined, { freeSpaceProbe: probe });
    nodes.push(node);
    expect(node.storageRefusal()).toBeUndefined();
    expect(probes).toBe(0);
  }, T);

  test('a restart recovers the state from the log and from snapshots', async () => {
    const cfg = await config(dir, ['--snapshot-every', '25']);
    const first = await startNode(cfg);
    for (let i = 0; i < 60; i++) await first.node.propose(put(`k${i}`, `v${i}`));
    const before = first.kv.stateHash();
    await first.node.stop();

    const second = await startNode(cfg);
    nodes.push(second.node);
    expect(second.kv.stateHash()).toBe(before);
    expect(second.kv.putOrder()).toEqual(Array.from({ length: 60 }, (_, i) => `k${i}`));
    expect(Buffer.from(second.kv.get('k59')!).toString()).toBe('v59');
    await second.node.propose(put('after'));
    expect(second.kv.summary().puts).toBe(61);
  }, T);

  test('a large state is snapshotted only once the log since the last snapshot holds that many bytes', async () => {
    // Every put is a 10 KiB value under its own key: the second snapshot waits until the
    // log applied after the first holds as many bytes as the first image.
    const cfg = await config(dir, ['--snapshot-every', '5', '--snapshot-retain-entries', '0']);
    const { node, registry } = await startNode(cfg);
    nodes.push(node);
    const taken = async () =>
      ((await registry.getSingleMetric('mom_raft_snapshots_total')!.get()).values.find((v) => v.labels.kind === 'taken')?.value ?? 0);
    const value = 'x'.repeat(10 * 1024);
    type Store = { snapshot(): { meta: { index: number }; data: Uint8Array }; lastIndex(): number; entries(lo: number, hi: number): { data: Uint8Array }[] };
    const store = (node as unknown as { store: Store }).store;
    const logBytesAfter = (index: number) => store.entries(index + 1, store.lastIndex() + 1).reduce((n, e) => n + e.data.length, 0);
    let n = 0;
    for (; n < 6; n++) await node.propose(put(`k${n}`, value));
    await waitFor(async () => ((await taken()) === 1 ? true : undefined), 10_000, () => 'no first snapshot');
    const first = store.snapshot();
    const entryBytes = store.entries(store.lastIndex(), store.lastIndex() + 1)[0].data.length;
    // Many more entries than snapshotEvery, but less log than the image: no snapshot.
    while (logBytesAfter(first.meta.index) + entryBytes < first.data.length) await node.propose(put(`k${n++}`, value));
    expect(store.lastIndex() - first.meta.index).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 100));
    expect(await taken()).toBe(1);
    await node.propose(put(`k${n++}`, value));
    await node.propose(put(`k${n}`, value));
    await waitFor(async () => ((await taken()) === 2 ? true : undefined), 10_000, () => `one snapshot; image ${first.data.length} B, log ${logBytesAfter(first.meta.index)} B`);
    expect(store.snapshot().meta.index).toBeGreaterThan(first.meta.index);
  }, T);

  test('the leader proposes the idle tick command when nothing else was proposed', async () => {
    const { node, kv } = await startNode(await config(dir), undefined, undefined, { idleTickCommand: encodeTick, idleTickMs: 50 });
    nodes.push(node);
    await waitFor(async () => (kv.ticks >= 3 ? true : undefined), 10_000, () => `ticks ${kv.ticks}`);
  }, T);

  test('stop() answers accepted proposals, then refuses new work', async () => {
    const { node } = await startNode(await config(dir));
    // Accepted before stop(): answered (committed within the grace period).
    const accepted = node.propose(put('x'));
    await node.stop();
    expect(((await accepted) as KvApplyResult).position).toBe(0);
    await expect(node.propose(put('y'))).rejects.toBeInstanceOf(NodeStoppedError);
    await expect(node.readBarrier()).rejects.toBeInstanceOf(NodeStoppedError);
  }, T);

  test('a failed log write halts the node and says why', async () => {
    const { node } = await startNode(await config(dir));
    nodes.push(node);
    const fatal = new Promise<Error>((resolve) => node.once('fatal', resolve));
    // Pull the disk out from under it: the next synced write fails.
    await (node as unknown as { store: { close(): Promise<void> } }).store.close();
    await expect(node.propose(put('lost'))).rejects.toBeInstanceOf(StorageFailedError);
    expect((await fatal).message).toMatch(/raft log .* is closed/);
    await expect(node.propose(put('later'))).rejects.toBeInstanceOf(StorageFailedError);
    expect(node.isReady()).toBe(false);
  }, T);
});
