import { cpus, loadavg } from 'node:os';
import type { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { put, putAcked, startKvCluster, waitConverged } from '../support/kv-cluster.js';

const T = 90_000;

describe('three node processes', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startKvCluster();
  }, T);

  afterAll(async () => {
    await cluster?.destroy();
  }, T);

  test('elect a leader and replicate writes to every node', async () => {
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++) {
      const r = await put(cluster, leader, `k${i}`, `v${i}`);
      expect(r?.status).toBe(200);
      expect(r?.body.position).toBe(i);
    }
    const s = await waitConverged(cluster, ['n1', 'n2', 'n3']);
    expect(s.puts).toBe(20);

    // A follower does not accept writes: it names the leader.
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    const r = await put(cluster, follower, 'nope', 'x');
    expect(r?.status).toBe(307);
    expect(r?.body.leaderId).toBe(leader);
  }, T);

  test('kill -9 the leader: a new leader serves within 2 s; the old one restarts and catches up', async () => {
    const old = await cluster.waitForLeader();
    const before = await waitConverged(cluster, ['n1', 'n2', 'n3']);
    const killedAt = Date.now();
    await cluster.kill(old, 'SIGKILL');
    const ack = await putAcked(cluster, 'after-failover', 'v', 15_000);
    const failoverMs = Date.now() - killedAt;
    expect(ack.status).toBe(200);
    const newLeader = await cluster.waitForLeader();
    expect(newLeader).not.toBe(old);
    // The bound users get: 2 s (election timeout 300-600 ms). A machine running far
    // more than it has cores (shared CI) delays every process, so there the bound is
    // relaxed rather than the test made flaky; the figure is printed either way.
    const overloaded = loadavg()[0] / cpus().length > 3;
    process.stderr.write(`failover: first acknowledged write ${failoverMs} ms after kill -9 of ${old}${overloaded ? ' (overloaded machine)' : ''}\n`);
    expect(failoverMs).toBeLessThan(overloaded ? 5000 : 2000);

    for (let i = 0; i < 10; i++) await putAcked(cluster, `while-down-${i}`, 'v');
    cluster.restart(old);
    const s = await waitConverged(cluster, ['n1', 'n2', 'n3'], 30_000);
    expect(s.puts).toBe(before.puts + 11);
  }, T);
});
