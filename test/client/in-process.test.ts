// The typed client against the real HTTP layer and broker (in process, no Raft):
// every call lands on a follower first, so each goes through a redirect.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { MomClient, MomApiError, type Delivery } from '../../src/client/index.js';
import { startInProcessCluster, type InProcessCluster } from '../api/support/in-process.js';

describe('client against the in-process API', () => {
  let cluster: InProcessCluster;
  let client: MomClient;
  beforeAll(async () => {
    cluster = await startInProcessCluster('redirect');
    client = new MomClient({ urls: cluster.followerUrls });
    await client.register('alice', 'alice-password');
    await client.login('alice', 'alice-password');
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.close();
  });

  test('queue lifecycle with typed results', async () => {
    const created = await client.createQueue({ name: 'jobs', visibilityTimeoutMs: 5000 });
    expect(created).toMatchObject({ name: 'jobs', owner: 'alice', visibilityTimeoutMs: 5000 });
    expect((await client.listQueues()).map((q) => q.name)).toContain('jobs');
    const q = client.queue('jobs');
    await q.sendBatch(['a', 'b']);
    expect((await q.get()).stats.ready).toBe(2);
    expect(await q.purge()).toEqual({ purged: 2 });
    await q.delete();
    const err = await q.get().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MomApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
  });

  test('batched sends come back through consume(), acked one by one; a nack redelivers', async () => {
    await client.createQueue({ name: 'stream-in', visibilityTimeoutMs: 30_000 });
    const q = client.queue('stream-in');
    const b = q.batcher({ lingerMs: 5 });
    const bodies = Array.from({ length: 30 }, (_, i) => `msg-${i}`);
    const sent = await Promise.all(bodies.map((body) => b.send({ body })));
    expect(new Set(sent.map((s) => s.id)).size).toBe(30);

    const ac = new AbortController();
    const got: string[] = [];
    let nacked: string | undefined;
    for await (const m of q.consume({ max: 7, waitMs: 500, signal: ac.signal }) as AsyncIterable<Delivery>) {
      if (m.body === 'msg-3' && nacked === undefined) {
        nacked = m.id;
        await m.nack();
        continue;
      }
      expect((await m.ack()).acked).toBe(1);
      got.push(m.body);
      if (got.length === 30) ac.abort();
    }
    expect(got.sort()).toEqual([...bodies].sort());
    expect((await q.get()).stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  test('topics, subscriptions and grants', async () => {
    await client.createTopic({ name: 'news' });
    const t = client.topic('news');
    await t.createSubscription({ name: 'reader' });
    expect((await t.subscriptions()).map((s) => s.name)).toEqual(['reader']);
    await t.publish('hello');
    const [m] = await t.subscription('reader').receive({ max: 1, waitMs: 1000 });
    expect(m.body).toBe('hello');
    expect(await t.subscription('reader').ack([m.receiptHandle])).toEqual({ acked: 1, unknown: [] });
    await client.register('bob', 'bob-password1');
    expect(await t.grant('bob', ['publish'])).toEqual({ username: 'bob', permissions: ['publish'] });
    await t.revoke('bob');
    await t.subscription('reader').delete();
    await t.delete();
  });

  test('the cluster status of a node', async () => {
    const status = await client.clusterStatus({ origin: cluster.leaderUrl });
    expect(status.role).toBe('leader');
    expect(await client.findLeader()).toBe(new URL(cluster.leaderUrl).origin);
  });
});
