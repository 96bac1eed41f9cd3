import type { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { putAcked, startKvCluster, summary, waitConverged } from '../support/kv-cluster.js';
import { LinkMesh } from '../../scripts/chaos/proxy.js';

const T = 120_000;

describe('a follower cut off from its peers', () => {
  let cluster: LocalCluster;
  let mesh: LinkMesh | undefined; // a proxy on every directed link

  afterAll(async () => {
    await cluster?.destroy();
    await mesh?.close();
  }, T);

  test('heals and catches up', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const links = await LinkMesh.prepare(ids.length);
    mesh = links;
    cluster = await startKvCluster({ peerAddress: links.peerAddress });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) await putAcked(cluster, `k${i}`, 'v');
    await waitConverged(cluster, ids);

    const victim = ids.find((id) => id !== leader)!;
    const victimTermBefore = (await cluster.status(victim))!.term;
    links.isolate(victim);

    // The majority keeps serving; the cut-off follower falls behind.
    const others = ids.filter((id) => id !== victim);
    for (let i = 0; i < 50; i++) await putAcked(cluster, `cut-${i}`, 'v', 15_000, others);
    const majority = await waitConverged(cluster, others);
    expect(majority.puts).toBe(60);
    expect((await summary(cluster, victim))!.puts).toBe(10);
    // Pre-vote: however long it campaigned alone, the isolated node never raised its
    // term, so rejoining does not depose the majority's leader.
    expect((await cluster.status(victim))!.term).toBe(victimTermBefore);

    links.heal(victim);
    const all = await waitConverged(cluster, ids, 30_000);
    expect(all.puts).toBe(60);
  }, T);
});
