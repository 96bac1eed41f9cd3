// The stream against three real node processes (dist/main.js): a StreamClient that
// starts on a follower keeps 256 sends unconfirmed while the leader is killed, and
// resends what was unconfirmed after reconnecting. Redirect mode: the follower's 307
// took it to the leader, whose death drops the stream; it reconnects to the new leader.
// Forward mode: the follower keeps the stream and relays each request to the leader;
// the relayed requests fail with the leader, the stream closes with leaderChanged and
// the client reconnects (to that follower again). Then a stream consumer drains the
// queue: every confirmed send is there exactly once, under the id its confirm named.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { LocalCluster } from '../../scripts/lib/local-cluster.js';
import { StreamClient } from '../../src/client/stream.js';
import { requireFreshBuild } from '../support/built-dist.js';
import { request } from './support/client.js';

requireFreshBuild();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const mode of ['redirect', 'forward'] as const) describe(`stream, ${mode} mode: leader killed during 256 unconfirmed sends`, () => {
  let cluster: LocalCluster;
  let urls: string[];
  let token: string;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3, extraArgs: () => ['--leader-mode', mode, '--log-level', 'warn'] });
    await cluster.waitForLeader();
    await cluster.waitReady();
    urls = cluster.nodes.map((n) => n.httpUrl);
    const user = { username: 'streamer', password: 'streamer-password' };
    expect((await request(urls[0], 'POST', '/v1/auth/register', { body: user }, 30_000)).status).toBe(201);
    const login = await request(urls[0], 'POST', '/v1/auth/login', { body: user }, 30_000);
    token = login.json.token;
    expect((await request(urls[0], 'POST', '/v1/queues', { token, body: { name: 'burst' } }, 30_000)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('every confirmed send is in the queue exactly once', async () => {
    const total = 4_000;
    const inFlight = 256;
    // Start on a follower: the upgrade's 307 leads to the leader.
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    const client = await StreamClient.connect({ urls: [follower.httpUrl, ...urls], token, maxUnconfirmed: inFlight });
    expect(client.node).toBe(mode === 'redirect' ? leader : follower.id);

    const confirmed = new Map<string, string>();
    let next = 0;
    const producers = Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const body = `m-${next++}`;
        const sent = await client.send('burst', { body });
        confirmed.set(body, sent.id);
      }
    });
    while (confirmed.size < total / 4) await sleep(5);
    await cluster.kill(leader, 'SIGKILL');
    const confirmedAtKill = confirmed.size;
    await Promise.all(producers);
    expect(confirmedAtKill).toBeLessThan(total); // the kill landed inside the stream
    expect(confirmed.size).toBe(total);
    expect(client.reconnects).toBeGreaterThanOrEqual(1);
    expect(client.node).not.toBe(leader);
    if (mode === 'forward') expect(client.node).toBe(follower.id);

    // Drain with a stream consumer; acks go through the same stream.
    const seen = new Map<string, number>();
    const wrongIds: string[] = [];
    const acks: Array<Promise<boolean>> = [];
    const consumer = client.consume({ queue: 'burst' }, { prefetch: 256 });
    for await (const d of consumer) {
      seen.set(d.body, (seen.get(d.body) ?? 0) + 1);
      if (confirmed.get(d.body) !== d.id) wrongIds.push(d.body);
      acks.push(d.ack());
      if (seen.size === total) break;
    }
    expect((await Promise.all(acks)).every(Boolean)).toBe(true);
    const stats = await request(cluster.node(client.node!).httpUrl, 'GET', '/v1/queues/burst', { token });
    // A duplicate would still be in the queue (ready) or have been seen twice.
    const duplicated = [...seen.entries()].filter(([, n]) => n > 1);
    expect({ duplicated, wrongIds, distinct: seen.size, stats: stats.json.stats }).toEqual({
      duplicated: [],
      wrongIds: [],
      distinct: total,
      stats: { ready: 0, inflight: 0, delayed: 0 },
    });
    await client.close();
  }, 120_000);
});

