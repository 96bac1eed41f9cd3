// The API against a real cluster: three node processes (dist/main.js) on loopback,
// started by scripts/lib/local-cluster.ts. The conformance suite runs once in redirect
// and once in forward mode; then a leader is killed during a burst of sends carrying
// Idempotency-Keys, and every send must be in the queue exactly once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { LocalCluster } from '../../scripts/lib/local-cluster.js';
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

interface Answer {
  status: number;
  json: any;
}

/**
 * What a careful client does: follow 307s with its Authorization header, and on a
 * dropped connection, a 503 or a timeout, retry the same request (same Idempotency-Key)
 * on the next node until it gets a definite answer.
 */
async function persistentRequest(urls: string[], method: string, path: string, opts: { token?: string; body?: unknown; key?: string }, deadlineMs: number): Promise<Answer> {
  let node = 0;
  let base = urls[0];
  for (;;) {
    if (Date.now() > deadlineMs) throw new Error(`no definite answer for ${method} ${path} before the deadline`);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.key) headers['idempotency-key'] = opts.key;
      const res = await fetch(base + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(5_000),
      });
      const text = await res.text();
      if (res.status === 307) {
        base = new URL(res.headers.get('location')!).origin;
        continue;
      }
      if (res.status === 503 || res.status === 429) {
        await sleep(100);
        base = urls[++node % urls.length];
        continue;
      }
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    } catch {
      // Connection refused or reset, or a timeout: the node may be dead. Try the next.
      await sleep(100);
      base = urls[++node % urls.length];
    }
  }
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
    const deadline = Date.now() + 60_000;
    const user = { username: 'producer', password: 'producer-password' };
    expect((await persistentRequest(urls, 'POST', '/v1/auth/register', { body: user, key: 'register-producer' }, deadline)).status).toBe(201);
    const login = await persistentRequest(urls, 'POST', '/v1/auth/login', { body: user }, deadline);
    expect(login.status).toBe(200);
    const token: string = login.json.token;
    expect((await persistentRequest(urls, 'POST', '/v1/queues', { token, body: { name: 'burst' }, key: 'create-burst' }, deadline)).status).toBe(201);

    const total = 240;
    const workers = 6;
    let acked = 0;
    const ids = new Map<string, string>();
    const send = async (i: number) => {
      const res = await persistentRequest(urls, 'POST', '/v1/queues/burst/messages', { token, body: { body: `m-${i}` }, key: `send-${i}` }, deadline);
      expect(res.status).toBe(201);
      ids.set(`m-${i}`, res.json.id);
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

    // Drain the queue through the surviving nodes.
    const live = cluster.nodes.filter((n) => n.id !== leader).map((n) => n.httpUrl);
    const seen = new Map<string, number>();
    for (let empty = 0, round = 0; empty < 2; round++) {
      // Keyed, so that a retried receive gets the same messages instead of leasing others.
      const got = await persistentRequest(live, 'POST', '/v1/queues/burst/receive', { token, body: { max: 100 }, key: `drain-${round}` }, deadline);
      expect(got.status).toBe(200);
      const messages: Array<{ id: string; body: string; receiptHandle: string }> = got.json.messages;
      if (messages.length === 0) {
        empty++;
        continue;
      }
      for (const m of messages) {
        seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
        expect(m.id).toBe(ids.get(m.body));
      }
      const ack = await persistentRequest(live, 'POST', '/v1/queues/burst/ack', { token, body: { receiptHandles: messages.map((m) => m.receiptHandle) }, key: `ack-${round}` }, deadline);
      expect(ack.json.acked).toBe(messages.length);
    }
    const missing = [...ids.keys()].filter((body) => !seen.has(body));
    const duplicated = [...seen.entries()].filter(([, count]) => count > 1);
    expect({ missing, duplicated, distinct: seen.size }).toEqual({ missing: [], duplicated: [], distinct: total });
  }, 90_000);
});
