// The API against a real cluster: three node processes (dist/main.js) on loopback,
// started by scripts/lib/local-cluster.ts. The conformance suite runs once in redirect
// and once in forward mode; then a leader is killed during a burst of sends carrying
// Idempotency-Keys, and every send must be in the queue exactly once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { MomClient } from '../../src/client/index.js';
import { requireFreshBuild } from '../support/built-dist.js';
import { CONFORMANCE_LIMITS, conformanceSuite } from './support/conformance.js';

requireFreshBuild();

const METRICS_TOKEN = 'cluster-test-metrics-token';

async function startCluster(mode: 'redirect' | 'forward', args: string[] = []): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({
    nodes: 3,
    extraArgs: () => ['--leader-mode', mode, '--log-level', 'warn', '--metrics-token', METRICS_TOKEN, ...args],
  });
  await cluster.waitForLeader();
  await cluster.waitReady();
  return cluster;
}

function clusterUnderTest(cluster: () => LocalCluster, mode: 'redirect' | 'forward') {
  const leaderIndex = async () => {
    const c = cluster();
    const id = await c.waitForLeader();
    return c.nodes.findIndex((n) => n.id === id);
  };
  return () => {
    const c = cluster();
    return {
      mode,
      urls: c.nodes.map((n) => n.httpUrl),
      leaderUrl: async () => c.nodes[await leaderIndex()].httpUrl,
      followerUrl: async () => c.nodes[((await leaderIndex()) + 1) % c.nodes.length].httpUrl,
      jwtSecret: readFileSync(c.secrets.jwtSecretFile, 'utf8').trim(),
      clusterId: c.secrets.clusterId,
      raftMetrics: true,
      metricsToken: METRICS_TOKEN,
    };
  };
}

for (const mode of ['redirect', 'forward'] as const) {
  describe(`API conformance, 3 node processes, ${mode} mode`, () => {
    let cluster: LocalCluster;
    beforeAll(async () => {
      cluster = await startCluster(mode, ['--limits', JSON.stringify(CONFORMANCE_LIMITS)]);
    }, 60_000);
    afterAll(async () => {
      await cluster?.destroy();
    });
    conformanceSuite(clusterUnderTest(() => cluster, mode));
  });
}

// ---- leader killed during a burst of idempotent sends --------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A careful client (src/client): follows 307s with its Authorization header, and on a
 * dropped connection, a 503 or a timeout retries the same request (same
 * Idempotency-Key) on the next node until it gets a definite answer.
 */
function persistentClient(urls: string[]): MomClient {
  return new MomClient({ urls, timeoutMs: 5_000, retry: { attempts: 1_000, deadlineMs: 60_000, baseMs: 50, maxMs: 200 } });
}

describe('leader killed during a burst of sends with Idempotency-Keys', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startCluster('redirect');
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('every acknowledged send is in the queue exactly once', async () => {
    const urls = cluster.nodes.map((n) => n.httpUrl);
    const client = persistentClient(urls);
    const user = { username: 'producer', password: 'producer-password' };
    expect(await client.register(user.username, user.password)).toEqual({ username: 'producer' });
    await client.login(user.username, user.password);
    expect((await client.createQueue({ name: 'burst' }, { idempotencyKey: 'create-burst' })).name).toBe('burst');
    const queue = client.queue('burst');

    const total = 240;
    const workers = 6;
    let acked = 0;
    const ids = new Map<string, string>();
    const send = async (i: number) => {
      const sent = await queue.send({ body: `m-${i}` }, { idempotencyKey: `send-${i}` });
      ids.set(`m-${i}`, sent.id);
      acked++;
    };
    let next = 0;
    const burst = Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < total) await send(next++);
      }),
    );
    // Kill the leader once the burst is well under way.
    while (acked < total / 4) await sleep(10);
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader, 'SIGKILL');
    const ackedAtKill = acked;
    await burst;
    expect(ackedAtKill).toBeLessThan(total); // the kill did land inside the burst
    expect(acked).toBe(total);
    await client.close();

    // Drain the queue through the surviving nodes.
    const survivors = persistentClient(cluster.nodes.filter((n) => n.id !== leader).map((n) => n.httpUrl));
    survivors.token = client.token;
    const drain = survivors.queue('burst');
    const seen = new Map<string, number>();
    for (let empty = 0, round = 0; empty < 2; round++) {
      // Keyed, so that a retried receive gets the same messages instead of leasing others.
      const messages = await drain.receive({ max: 100 }, { idempotencyKey: `drain-${round}` });
      if (messages.length === 0) {
        empty++;
        continue;
      }
      for (const m of messages) {
        seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
        expect(m.id).toBe(ids.get(m.body));
      }
      const ack = await drain.ack(messages.map((m) => m.receiptHandle), { idempotencyKey: `ack-${round}` });
      expect(ack.acked).toBe(messages.length);
    }
    await survivors.close();
    const missing = [...ids.keys()].filter((body) => !seen.has(body));
    const duplicated = [...seen.entries()].filter(([, count]) => count > 1);
    expect({ missing, duplicated, distinct: seen.size }).toEqual({ missing: [], duplicated: [], distinct: total });
  }, 90_000);
});
