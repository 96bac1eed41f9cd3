import type { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { put, putAcked, putOrder, startKvCluster, waitConverged } from '../support/kv-cluster.js';

const T = 120_000;

describe('kill -9 of every node in the middle of a write load', () => {
  let cluster: LocalCluster;

  afterAll(async () => {
    await cluster?.destroy();
  }, T);

  test('every acknowledged write is present on all nodes after a restart, in the same order', async () => {
    cluster = await startKvCluster();
    await cluster.waitForLeader();

    // Writers hammer whichever node they believe leads; we record each acknowledgement.
    const acked = new Map<string, number>(); // key -> position in the put order
    let stop = false;
    let attempted = 0;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        attempted++;
        const target = cluster.nodes[(w + i) % 3].id;
        const r = await put(cluster, target, key, `value-${key}`, 2000);
        if (r?.status === 200 && typeof r.body.position === 'number') acked.set(key, r.body.position);
        if (r?.status === 307) {
          const again = await put(cluster, r.body.leaderId!, key, `value-${key}`, 2000);
          if (again?.status === 200 && typeof again.body.position === 'number') acked.set(key, again.body.position);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    // Let the load run until enough writes were acknowledged, then crash everyone at once.
    const deadline = Date.now() + 60_000;
    while (acked.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGKILL')));
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(300);

    for (const n of cluster.nodes) cluster.restart(n.id);
    // Restarted nodes apply nothing until the new leader commits in its term (the
    // commit index is not persisted), so three empty replicas would look converged.
    // One acknowledged write after the restart commits everything before it.
    await putAcked(cluster, 'after-restart', 'v', 30_000);
    const s = await waitConverged(cluster, ['n1', 'n2', 'n3'], 30_000);
    expect(s.puts).toBeGreaterThanOrEqual(acked.size + 1);
    expect(s.puts).toBeLessThanOrEqual(attempted + 1);

    const orders = await Promise.all(cluster.nodes.map((n) => putOrder(cluster, n.id)));
    for (const order of orders) {
      expect(order).toEqual(orders[0]);
      // Each acknowledged write sits exactly where its acknowledgement said.
      for (const [key, position] of acked) expect(order![position]).toBe(key);
      expect(order!.at(-1)).toBe('after-restart');
    }
  }, T);
});
