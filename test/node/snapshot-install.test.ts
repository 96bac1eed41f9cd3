import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLogStore } from '../../src/node/storage/disk-log-store.js';
import type { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { putAcked, putOrder, startKvCluster, waitConverged } from '../support/kv-cluster.js';

const T = 120_000;

describe('a follower whose data dir was wiped', () => {
  let cluster: LocalCluster;

  afterAll(async () => {
    await cluster?.destroy();
  }, T);

  test('rejoins through InstallSnapshot and catches up', async () => {
    // Snapshot every 40 entries and keep only 10 below each snapshot, so the leader
    // no longer has the start of the log and must send a snapshot.
    cluster = await startKvCluster({ extraArgs: () => ['--snapshot-every', '40', '--snapshot-retain-entries', '10'] });
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((n) => n.id !== leader)!;

    for (let i = 0; i < 30; i++) await putAcked(cluster, `before-${i}`, 'v');
    await cluster.kill(victim.id, 'SIGKILL');
    rmSync(victim.dataDir, { recursive: true, force: true });
    for (let i = 0; i < 100; i++) await putAcked(cluster, `after-${i}`, 'v');

    cluster.restart(victim.id);
    const s = await waitConverged(cluster, ['n1', 'n2', 'n3'], 30_000);
    expect(s.puts).toBe(130);
    const orders = await Promise.all(cluster.nodes.map((n) => putOrder(cluster, n.id)));
    for (const order of orders) expect(order).toEqual(orders[0]);
    const installs = readFileSync(victim.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('installed a snapshot from the leader'))
      .map((line) => JSON.parse(line) as { index: number; firstIndex: number });
    expect(installs.length).toBeGreaterThan(0);
    // The entries the leader keeps below its snapshot came with it.
    expect(installs[0].firstIndex).toBeLessThanOrEqual(installs[0].index);

    // The logs agree entry for entry wherever both hold an entry.
    await cluster.stopAll();
    const open = (id: string) => DiskLogStore.open(join(cluster.node(id).dataDir, 'raft'), { nodeId: id, conf: { voters: ['n1', 'n2', 'n3'] } });
    const [a, b] = [await open(leader), await open(victim.id)];
    try {
      const lo = Math.max(a.firstIndex(), b.firstIndex());
      const hi = Math.min(a.lastIndex(), b.lastIndex());
      expect(hi).toBeGreaterThanOrEqual(lo);
      const view = (s: DiskLogStore) => s.entries(lo, hi + 1).map((e) => [e.index, e.term, Buffer.from(e.data).toString('hex')]);
      expect(view(b)).toEqual(view(a));
    } finally {
      await a.close();
      await b.close();
    }
  }, T);
});
