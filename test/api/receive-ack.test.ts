// A receive that also acknowledges the previous batch (docs/API.md, Receive and
// acknowledge in one request), over HTTP through a follower in both leader modes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { LIMITS } from '../../src/api/schemas.js';
import { rawRequest, request, type RawResponse } from './support/client.js';
import { startInProcessCluster, type InProcessCluster } from './support/in-process.js';

const PASSWORD = 'correct horse battery';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectOk(res: RawResponse, status = 200): any {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
}

function expectError(res: RawResponse, status: number, code: string): void {
  if (res.status !== status || res.json?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
}

const handlesOf = (answer: { messages: Array<{ receiptHandle: string }> }) => answer.messages.map((m) => m.receiptHandle);
const bodiesOf = (answer: { messages: Array<{ body: string }> }) => answer.messages.map((m) => m.body);

for (const mode of ['redirect', 'forward'] as const) {
  describe(`receive and acknowledge in one request, ${mode} mode`, () => {
    let cluster: InProcessCluster;
    let via: string;
    const tokens: Record<string, string> = {};
    let q = '';
    let count = 0;
    /** A fresh queue of alice's for each test. */
    const newQueue = async (messages: string[]) => {
      q = `ra-${mode}-${++count}`;
      expectOk(await as('alice', 'POST', '/v1/queues', { name: q }), 201);
      if (messages.length > 0) expectOk(await as('alice', 'POST', `/v1/queues/${q}/messages`, { messages: messages.map((body) => ({ body })) }), 201);
    };
    const as = (user: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      request(via, method, path, { token: tokens[user], body, headers });
    const stats = async () => expectOk(await as('alice', 'GET', `/v1/queues/${q}`)).stats;

    beforeAll(async () => {
      cluster = await startInProcessCluster(mode);
      via = cluster.followerUrls[0];
      for (const user of ['alice', 'bob']) {
        expectOk(await request(via, 'POST', '/v1/auth/register', { body: { username: user, password: PASSWORD } }), 201);
        tokens[user] = expectOk(await request(via, 'POST', '/v1/auth/login', { body: { username: user, password: PASSWORD } })).token;
      }
    });
    afterAll(async () => {
      await cluster.close();
    });

    test('acks the handles, then receives; acked messages never come back, unknown handles are listed', async () => {
      await newQueue(['m0', 'm1', 'm2', 'm3', 'm4']);
      const first = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2, visibilityTimeoutMs: 200 }));
      expect(first).toEqual({ messages: expect.any(Array) }); // no ack fields without the field
      expect(bodiesOf(first)).toEqual(['m0', 'm1']);
      const both = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10, ackReceiptHandles: [...handlesOf(first), 'no-such-handle'] }));
      expect(Object.keys(both)).toEqual(['messages', 'acked', 'unknown']);
      expect(bodiesOf(both)).toEqual(['m2', 'm3', 'm4']);
      expect(both.acked).toBe(2);
      expect(both.unknown).toEqual(['no-such-handle']);
      expect(await stats()).toEqual({ ready: 0, inflight: 3, delayed: 0 });
      // Past the first lease's visibility timeout: acked, so nothing is delivered again.
      await sleep(400);
      expect(expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10 }))).toEqual({ messages: [] });
      // An empty list acks nothing; the fields are still there.
      expect(expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { ackReceiptHandles: [] }))).toEqual({ messages: [], acked: 0, unknown: [] });
      const last = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { ackReceiptHandles: handlesOf(both) }));
      expect(last).toEqual({ messages: [], acked: 3, unknown: [] });
      expect(await stats()).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    });

    test(mode === 'redirect' ? 'a follower redirects the request with its body' : 'a follower relays the request and its answer', async () => {
      await newQueue(['a', 'b']);
      const got = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 1 }));
      const relayedBefore = cluster.relayed().length;
      const res = await rawRequest(via, 'POST', `/v1/queues/${q}/receive`, { token: tokens.alice, body: { max: 5, ackReceiptHandles: handlesOf(got) } });
      if (mode === 'redirect') {
        expect(res.status).toBe(307);
        expect(res.headers.get('location')).toBe(`${cluster.leaderUrl}/v1/queues/${q}/receive`);
        expect(await stats()).toEqual({ ready: 1, inflight: 1, delayed: 0 }); // the follower did nothing
        const followed = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 5, ackReceiptHandles: handlesOf(got) }));
        expect(followed).toEqual({ messages: [expect.objectContaining({ body: 'b' })], acked: 1, unknown: [] });
      } else {
        expect(expectOk(res)).toEqual({ messages: [expect.objectContaining({ body: 'b' })], acked: 1, unknown: [] });
        expect(cluster.relayed().length).toBe(relayedBefore + 1);
      }
      expect(await stats()).toEqual({ ready: 0, inflight: 1, delayed: 0 });
    });

    test('bad lists are the ack route\'s 400s, and nothing is acked or received', async () => {
      await newQueue(['a', 'b']);
      const got = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 1 }));
      const h = handlesOf(got)[0];
      const bad: unknown[] = [
        [h, ''],
        [h, 'x'.repeat(LIMITS.maxReceiptHandleLength + 1)],
        Array.from({ length: LIMITS.maxReceiptHandles + 1 }, () => h),
        h,
        [h, 7],
        null,
      ];
      for (const ackReceiptHandles of bad) {
        expectError(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10, ackReceiptHandles }), 400, 'validation_failed');
        // The ack route answers the same list the same way.
        if (Array.isArray(ackReceiptHandles)) expectError(await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: ackReceiptHandles }), 400, 'validation_failed');
      }
      expect(await stats()).toEqual({ ready: 1, inflight: 1, delayed: 0 });
      // A full list of the maximum length is fine.
      const full = Array.from({ length: LIMITS.maxReceiptHandles }, (_, i) => (i === 0 ? h : `unknown-${i}`));
      const ok = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10, ackReceiptHandles: full }));
      expect(ok.acked).toBe(1);
      expect(ok.unknown).toHaveLength(LIMITS.maxReceiptHandles - 1);
      expect(bodiesOf(ok)).toEqual(['b']);
    });

    test('a failing ack fails the request: no such queue is 404', async () => {
      expectError(await as('alice', 'POST', `/v1/queues/ra-${mode}-never-made/receive`, { max: 10, ackReceiptHandles: ['h'] }), 404, 'not_found');
    });

    test('without the receive grant: 403 and nothing acked; with it, the grantee acks and receives', async () => {
      await newQueue(['a', 'b', 'c']);
      const got = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2 }));
      expectError(await as('bob', 'POST', `/v1/queues/${q}/receive`, { max: 1, ackReceiptHandles: handlesOf(got) }), 403, 'forbidden');
      expectOk(await as('alice', 'PUT', `/v1/queues/${q}/grants/bob`, { permissions: ['send'] }));
      expectError(await as('bob', 'POST', `/v1/queues/${q}/receive`, { max: 1, ackReceiptHandles: handlesOf(got) }), 403, 'forbidden');
      expect(await stats()).toEqual({ ready: 1, inflight: 2, delayed: 0 });
      expectOk(await as('alice', 'PUT', `/v1/queues/${q}/grants/bob`, { permissions: ['receive'] }));
      const bobs = expectOk(await as('bob', 'POST', `/v1/queues/${q}/receive`, { max: 1, ackReceiptHandles: handlesOf(got) }));
      expect(bobs).toEqual({ messages: [expect.objectContaining({ body: 'c' })], acked: 2, unknown: [] });
    });

    test('Idempotency-Key: a repeat gives the same combined answer and changes nothing', async () => {
      await newQueue(['a', 'b', 'c', 'd']);
      const got = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2 }));
      const key = { 'Idempotency-Key': `combined-${mode}` };
      const body = { max: 1, ackReceiptHandles: [...handlesOf(got), 'no-such-handle'] };
      const first = await as('alice', 'POST', `/v1/queues/${q}/receive`, body, key);
      expect(expectOk(first)).toEqual({ messages: [expect.objectContaining({ body: 'c' })], acked: 2, unknown: ['no-such-handle'] });
      const again = await as('alice', 'POST', `/v1/queues/${q}/receive`, body, key);
      expect(again.status).toBe(200);
      expect(again.text).toBe(first.text);
      expect(await stats()).toEqual({ ready: 1, inflight: 1, delayed: 0 });
      // The same key on another user is that user's own.
      expectOk(await as('alice', 'PUT', `/v1/queues/${q}/grants/bob`, { permissions: ['receive'] }));
      const bobs = expectOk(await as('bob', 'POST', `/v1/queues/${q}/receive`, body, key));
      expect(bobs).toEqual({ messages: [expect.objectContaining({ body: 'd' })], acked: 0, unknown: body.ackReceiptHandles });
    });

    test('a long poll acknowledges at once, then waits for a message', async () => {
      await newQueue(['a']);
      const got = expectOk(await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 1 }));
      const polling = as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10, waitMs: 5_000, ackReceiptHandles: handlesOf(got) });
      // The ack is applied while the receive still waits.
      for (let i = 0; i < 100 && (await stats()).inflight !== 0; i++) await sleep(20);
      expect(await stats()).toEqual({ ready: 0, inflight: 0, delayed: 0 });
      expectOk(await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'late' }), 201);
      expect(expectOk(await polling)).toEqual({ messages: [expect.objectContaining({ body: 'late' })], acked: 1, unknown: [] });
    });

    test('the subscription route acks and receives the same way', async () => {
      const t = `rt-${mode}`;
      expectOk(await as('alice', 'POST', '/v1/topics', { name: t }), 201);
      expectOk(await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 's' }), 201);
      expectOk(await as('alice', 'POST', `/v1/topics/${t}/messages`, { messages: [{ body: 'p0' }, { body: 'p1' }, { body: 'p2' }] }), 201);
      const path = `/v1/topics/${t}/subscriptions/s/receive`;
      const first = expectOk(await as('alice', 'POST', path, { max: 2 }));
      const both = expectOk(await as('alice', 'POST', path, { max: 10, ackReceiptHandles: [...handlesOf(first), 'stale'] }));
      expect(both).toEqual({ messages: [expect.objectContaining({ body: 'p2' })], acked: 2, unknown: ['stale'] });
      expect(expectOk(await as('alice', 'POST', path, { max: 10, ackReceiptHandles: handlesOf(both) }))).toEqual({ messages: [], acked: 1, unknown: [] });
      expectError(await as('bob', 'POST', path, { ackReceiptHandles: [] }), 403, 'forbidden');
    });
  });
}

describe('GET /openapi.json describes the field and the answer', () => {
  test('on both receive routes', async () => {
    const cluster = await startInProcessCluster('redirect');
    try {
      const doc = expectOk(await rawRequest(cluster.leaderUrl, 'GET', '/openapi.json'));
      for (const path of ['/v1/queues/{name}/receive', '/v1/topics/{name}/subscriptions/{sub}/receive']) {
        const op = doc.paths[path].post;
        const field = op.requestBody.content['application/json'].schema.properties.ackReceiptHandles;
        expect(field).toMatchObject({ type: 'array', maxItems: LIMITS.maxReceiptHandles, items: { type: 'string', minLength: 1 } });
        expect(op.responses['200'].description).toMatch(/acked: n, unknown: string\[\]/);
      }
    } finally {
      await cluster.close();
    }
  });
});
