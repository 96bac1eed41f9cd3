// Memory and disk guards seen through the API (docs/DESIGN.md, Bounded memory and
// Disk-space alarm): an overloaded leader answers 429 with Retry-After; a leader whose disk
// is below --min-free-disk-bytes refuses sends and publishes with 507 while receives, acks
// and everything else keep working, and accepts sends again once space is back.
import { afterEach, describe, expect, test } from '@jest/globals';
import { rawRequest, request } from './support/client.js';
import { startInProcessCluster, type InProcessCluster } from './support/in-process.js';

const PASSWORD = 'correct-horse-battery';
let cluster: InProcessCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function userWithQueue(c: InProcessCluster): Promise<string> {
  expect((await request(c.leaderUrl, 'POST', '/v1/auth/register', { body: { username: 'u', password: PASSWORD } })).status).toBe(201);
  const token = (await request(c.leaderUrl, 'POST', '/v1/auth/login', { body: { username: 'u', password: PASSWORD } })).json.token as string;
  expect((await request(c.leaderUrl, 'POST', '/v1/queues', { token, body: { name: 'q' } })).status).toBe(201);
  return token;
}

describe('pending-proposal byte limit', () => {
  test('a send beyond the leader\'s pending bytes is answered 429 with Retry-After', async () => {
    const c = (cluster = await startInProcessCluster('redirect', { answerMarginMs: 300 }));
    const token = await userWithQueue(c);
    c.leader.pendingLimits = { maxCount: 100, maxBytes: 4096 };
    c.leader.stalled = true; // what is proposed now waits to commit
    const first = rawRequest(c.leaderUrl, 'POST', '/v1/queues/q/messages', { token, body: { body: 'a'.repeat(3000) } }).catch(() => undefined);
    for (let i = 0; i < 500 && c.leader.pending.count === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.leader.pending.count).toBe(1);
    const res = await rawRequest(c.leaderUrl, 'POST', '/v1/queues/q/messages', { token, body: { body: 'b'.repeat(3000) } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.json.error).toMatchObject({ code: 'rate_limited', details: { reason: 'overloaded' } });
    expect(c.leader.pending.count).toBe(1);
    await first;
  }, 20_000);
});

describe('disk-space alarm', () => {
  test('below the threshold sends and publishes get 507; receives and acks work; sends resume when space is back', async () => {
    const c = (cluster = await startInProcessCluster('forward'));
    const token = await userWithQueue(c);
    expect((await request(c.leaderUrl, 'POST', '/v1/topics', { token, body: { name: 't' } })).status).toBe(201);
    expect((await request(c.leaderUrl, 'POST', '/v1/queues/q/messages', { token, body: { body: 'before' } })).status).toBe(201);

    c.leader.diskFreeBytes = 10 * 1024 * 1024; // below the 1 GiB threshold
    await c.leader.disk.check();
    for (const url of [c.leaderUrl, c.followerUrls[0]]) {
      const sent = await rawRequest(url, 'POST', '/v1/queues/q/messages', { token, body: { body: 'refused' } });
      expect(sent.status).toBe(507);
      expect(sent.json.error.code).toBe('insufficient_storage');
    }
    const published = await rawRequest(c.leaderUrl, 'POST', '/v1/topics/t/messages', { token, body: { body: 'refused' } });
    expect(published.status).toBe(507);

    const received = await request(c.leaderUrl, 'POST', '/v1/queues/q/receive', { token, body: { max: 10 } });
    expect(received.status).toBe(200);
    expect(received.json.messages.map((m: { body: string }) => m.body)).toEqual(['before']);
    const acked = await request(c.leaderUrl, 'POST', '/v1/queues/q/ack', { token, body: { receiptHandles: [received.json.messages[0].receiptHandle] } });
    expect(acked.status).toBe(200);
    expect(acked.json.acked).toBe(1);
    expect((await request(c.leaderUrl, 'POST', '/v1/queues', { token, body: { name: 'q2' } })).status).toBe(201);

    c.leader.diskFreeBytes = 2 * 1024 * 1024 * 1024;
    await c.leader.disk.check();
    expect((await request(c.leaderUrl, 'POST', '/v1/queues/q/messages', { token, body: { body: 'after' } })).status).toBe(201);
    const again = await request(c.leaderUrl, 'POST', '/v1/queues/q/receive', { token, body: { max: 10 } });
    expect(again.json.messages.map((m: { body: string }) => m.body)).toEqual(['after']);
  }, 20_000);
});
