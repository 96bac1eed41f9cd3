// The API conformance suite: every row and error of docs/API.md, over HTTP only.
// One function, run against a cluster in redirect mode and one in forward mode (hono's
// shared router suite is the model). Clients talk to a follower unless a test is about
// the leader, so every write crosses the redirect or the forward path.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import { rawRequest, request, type RawResponse, type RequestOptions } from './client.js';

export interface ClusterUnderTest {
  mode: 'redirect' | 'forward';
  /** Base URLs of every node. */
  urls: string[];
  leaderUrl(): Promise<string>;
  followerUrl(): Promise<string>;
  /** Known to tests that start the cluster: lets them forge expired tokens. */
  jwtSecret: string;
  clusterId: string;
  /** Real Raft nodes: /metrics must carry the node's Raft metrics too. */
  raftMetrics?: boolean;
  /** The nodes' --metrics-token, which unlocks the per-queue series. */
  metricsToken: string;
}

/** Per-user limits every cluster under test runs with (node flag --limits): small enough
 *  for the quota tests to reach, large enough for every other test. */
export const CONFORMANCE_LIMITS: Record<string, number> = {
  queuesPerUser: 40,
  messagesPerQueue: 150,
  queuedBytesPerQueue: 600 * 1024,
  idempotencyRecordsPerUser: 100,
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const PASSWORD = 'correct horse battery';

function expectError(res: RawResponse, status: number, code: string): void {
  if (res.status !== status || res.json?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  expect(typeof res.json.error.message).toBe('string');
  expect('details' in res.json.error).toBe(true);
  expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack traces
}

function expectStatus(res: RawResponse, status: number): void {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
}

export function conformanceSuite(getCluster: () => ClusterUnderTest): void {
  let cluster: ClusterUnderTest;
  let via: string; // a follower: every write takes the redirect or forward path
  const run = Math.random().toString(36).slice(2, 8);
  const n = (base: string) => `${base}-${run}`;
  const tokens: Record<string, string> = {};

  const call = (method: string, path: string, opts: RequestOptions = {}) => request(via, method, path, opts);
  const as = (user: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(method, path, { token: tokens[user], body, headers });

  beforeAll(async () => {
    cluster = getCluster();
    via = await cluster.followerUrl();
    for (const user of ['alice', 'bob', 'carol']) {
      expectStatus(await call('POST', '/v1/auth/register', { body: { username: n(user), password: PASSWORD } }), 201);
      const login = await call('POST', '/v1/auth/login', { body: { username: n(user), password: PASSWORD } });
      expectStatus(login, 200);
      tokens[user] = login.json.token;
    }
  });

  describe('health and cluster', () => {
    test('GET /health is 200 {"status":"ok"} on every node', async () => {
      for (const url of cluster.urls) {
        const res = await rawRequest(url, 'GET', '/health');
        expectStatus(res, 200);
        expect(res.json).toEqual({ status: 'ok' });
      }
    });

    test('GET /ready is 200 on every node of a healthy cluster', async () => {
      for (const url of cluster.urls) expectStatus(await request(url, 'GET', '/ready'), 200);
    });

    test('GET /metrics is Prometheus text with HTTP, queue and Raft metrics', async () => {
      const leader = await cluster.leaderUrl();
      await as('alice', 'POST', '/v1/queues', { name: n('metered') });
      await as('alice', 'POST', `/v1/queues/${n('metered')}/messages`, { body: 'm' });
      const res = await rawRequest(leader, 'GET', '/metrics', { headers: { authorization: `Bearer ${cluster.metricsToken}` } });
      expectStatus(res, 200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/^mom_http_request_duration_seconds_bucket\{.*route="\/v1\/queues\/:name\/messages".*\} \d+/m);
      expect(res.text).toContain(`mom_queue_messages{kind="queue",target="queue:${n('metered')}",state="ready"} 1`);
      expect(res.text).toMatch(/^mom_messages_sent_total\{kind="queue"\} \d+/m);
      if (cluster.raftMetrics) {
        for (const name of [
          'mom_raft_term',
          'mom_raft_role',
          'mom_raft_commit_index',
          'mom_raft_applied_index',
          'mom_raft_leader_changes_total',
          'mom_raft_proposal_commit_seconds_bucket',
          'mom_raft_fsync_seconds_bucket',
          'mom_raft_follower_lag_entries',
        ]) {
          expect(res.text).toMatch(new RegExp(`^${name}(\\{.*\\})? `, 'm'));
        }
      }
    });

    test("GET /metrics names no tenant's queue without the metrics token; cluster series stay open", async () => {
      const leader = await cluster.leaderUrl();
      await as('alice', 'POST', '/v1/queues', { name: n('secret-name') });
      const tries: Record<string, string>[] = [{}, { authorization: 'Bearer not-the-metrics-token' }, { authorization: `Bearer ${tokens.alice}` }];
      for (const headers of tries) {
        const res = await rawRequest(leader, 'GET', '/metrics', { headers });
        expectStatus(res, 200);
        expect(res.text).not.toContain(n('secret-name'));
        expect(res.text).not.toMatch(/^mom_queue_messages\{/m);
        expect(res.text).toMatch(/^mom_messages_sent_total\{kind="queue"\} \d+/m);
        if (cluster.raftMetrics) expect(res.text).toMatch(/^mom_raft_term /m);
      }
    });

    test('GET /v1/cluster has docs/API.md fields on every node, without auth', async () => {
      for (const url of cluster.urls) {
        const res = await rawRequest(url, 'GET', '/v1/cluster');
        expectStatus(res, 200);
        for (const key of ['nodeId', 'role', 'term', 'leaderId', 'leaderUrl', 'commitIndex', 'appliedIndex', 'nodes']) {
          expect(res.json).toHaveProperty(key);
        }
        expect(res.json.nodes.length).toBe(cluster.urls.length);
        for (const node of res.json.nodes) {
          expect(typeof node.id).toBe('string');
          expect(typeof node.httpUrl).toBe('string');
        }
      }
    });

    test('GET /openapi.json describes every route', async () => {
      const res = await rawRequest(via, 'GET', '/openapi.json');
      expectStatus(res, 200);
      expect(res.json.openapi).toBe('3.1.0');
      expect(Object.keys(res.json.paths)).toEqual(
        expect.arrayContaining(['/v1/auth/register', '/v1/queues/{name}/receive', '/v1/topics/{name}/subscriptions/{sub}/ack']),
      );
      expect(res.json.paths['/v1/queues'].post.requestBody.content['application/json'].schema.properties.name.pattern).toBe(
        '^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$',
      );
    });

    test('an unknown route is 404 not_found with the error body', async () => {
      expectError(await rawRequest(via, 'GET', '/v1/nothing-here'), 404, 'not_found');
    });
  });

  describe('users', () => {
    test('register: 201 {username}; 409 when taken; password 8..128', async () => {
      const res = await call('POST', '/v1/auth/register', { body: { username: n('dave'), password: '12345678' } });
      expectStatus(res, 201);
      expect(res.json).toEqual({ username: n('dave') });
      expectError(await call('POST', '/v1/auth/register', { body: { username: n('dave'), password: '12345678' } }), 409, 'conflict');
      expectError(await call('POST', '/v1/auth/register', { body: { username: n('erin'), password: '1234567' } }), 400, 'validation_failed');
      expectError(
        await call('POST', '/v1/auth/register', { body: { username: n('erin'), password: 'x'.repeat(129) } }),
        400,
        'validation_failed',
      );
    });

    test('login: 200 {token, expiresAt}; 401 on a wrong password or unknown user', async () => {
      const res = await call('POST', '/v1/auth/login', { body: { username: n('alice'), password: PASSWORD } });
      expectStatus(res, 200);
      expect(res.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(res.json.expiresAt).toMatch(ISO);
      expect(Date.parse(res.json.expiresAt)).toBeGreaterThan(Date.now());
      expectError(await call('POST', '/v1/auth/login', { body: { username: n('alice'), password: 'wrong password' } }), 401, 'unauthorized');
      expectError(await call('POST', '/v1/auth/login', { body: { username: n('nobody'), password: PASSWORD } }), 401, 'unauthorized');
    });

    test('register and login bodies over 4 KiB are 413 unread; a big unauthenticated body elsewhere is 401 unread', async () => {
      const big = { username: n('big'), password: 'p'.repeat(5_000) };
      expectError(await call('POST', '/v1/auth/login', { body: big }), 413, 'payload_too_large');
      expectError(await call('POST', '/v1/auth/register', { body: big }), 413, 'payload_too_large');
      const leader = await cluster.leaderUrl();
      expectError(await rawRequest(leader, 'POST', `/v1/queues/${n('any')}/messages`, { body: { body: 'x'.repeat(900_000) } }), 401, 'unauthorized');
    });

    test('a token works on every node (verified locally)', async () => {
      for (const url of cluster.urls) {
        const res = await request(url, 'GET', '/v1/queues?consistency=stale', { token: tokens.alice });
        expectStatus(res, 200);
      }
    });

    test('repeated failed logins are rate limited: 429 rate_limited with Retry-After', async () => {
      const username = n('target');
      await call('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
      let limited: RawResponse | undefined;
      for (let i = 0; i < 30 && !limited; i++) {
        const res = await call('POST', '/v1/auth/login', { body: { username, password: 'not the password' } });
        if (res.status === 429) limited = res;
        else expectError(res, 401, 'unauthorized');
      }
      expect(limited).toBeDefined();
      expectError(limited!, 429, 'rate_limited');
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
      // Even the right password waits now.
      expectError(await call('POST', '/v1/auth/login', { body: { username, password: PASSWORD } }), 429, 'rate_limited');
    });
  });

  describe('queues', () => {
    test('create: 201 Queue with defaults; 409 when taken', async () => {
      const res = await as('alice', 'POST', '/v1/queues', { name: n('orders') });
      expectStatus(res, 201);
      expect(res.json).toEqual({
        name: n('orders'),
        owner: n('alice'),
        createdAt: expect.stringMatching(ISO),
        visibilityTimeoutMs: 30000,
        maxReceives: null,
        deadLetterQueue: null,
        retentionMs: 345600000,
        stats: { ready: 0, inflight: 0, delayed: 0 },
      });
      expectError(await as('bob', 'POST', '/v1/queues', { name: n('orders') }), 409, 'conflict');
    });

    test('list and get: owner and grantees see it, others get 403 / do not see it', async () => {
      await as('alice', 'POST', '/v1/queues', { name: n('listed') });
      const list = await as('alice', 'GET', '/v1/queues');
      expectStatus(list, 200);
      expect(list.json.queues.map((q: { name: string }) => q.name)).toContain(n('listed'));
      const bobList = await as('bob', 'GET', '/v1/queues');
      expect(bobList.json.queues.map((q: { name: string }) => q.name)).not.toContain(n('listed'));
      const got = await as('alice', 'GET', `/v1/queues/${n('listed')}`);
      expectStatus(got, 200);
      expect(got.json.name).toBe(n('listed'));
      expectError(await as('bob', 'GET', `/v1/queues/${n('listed')}`), 403, 'forbidden');
      expectError(await as('alice', 'GET', `/v1/queues/${n('never-made')}`), 404, 'not_found');
    });

    test('send, receive, ack: shapes of docs/API.md; ready messages come in send order', async () => {
      const q = n('flow');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const one = await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'm0', attributes: { k: 'v' } });
      expectStatus(one, 201);
      expect(one.json).toEqual({ id: expect.any(String), deduplicated: false });
      const batch = await as('alice', 'POST', `/v1/queues/${q}/messages`, {
        messages: [{ body: 'm1' }, { body: 'm2' }, { body: 'm3' }],
      });
      expectStatus(batch, 201);
      expect(batch.json.messages).toHaveLength(3);
      for (const m of batch.json.messages) expect(m).toEqual({ id: expect.any(String), deduplicated: false });

      const got = await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 10 });
      expectStatus(got, 200);
      expect(got.json.messages.map((m: { body: string }) => m.body)).toEqual(['m0', 'm1', 'm2', 'm3']);
      expect(got.json.messages[0]).toEqual({
        id: one.json.id,
        body: 'm0',
        attributes: { k: 'v' },
        receiptHandle: expect.any(String),
        receiveCount: 1,
        sentAt: expect.stringMatching(ISO),
      });
      const info = await as('alice', 'GET', `/v1/queues/${q}`);
      expect(info.json.stats).toEqual({ ready: 0, inflight: 4, delayed: 0 });

      const handles = got.json.messages.map((m: { receiptHandle: string }) => m.receiptHandle);
      const acked = await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: [...handles, 'no-such-handle'] });
      expectStatus(acked, 200);
      expect(acked.json).toEqual({ acked: 4, unknown: ['no-such-handle'] });
      const empty = await as('alice', 'POST', `/v1/queues/${q}/receive`, {});
      expectStatus(empty, 200);
      expect(empty.json).toEqual({ messages: [] });
    });

    test('deduplicationId: a repeat within the window is not enqueued again', async () => {
      const q = n('dedup');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const first = await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'x', deduplicationId: 'd-1' });
      const again = await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'x', deduplicationId: 'd-1' });
      expect(first.json.deduplicated).toBe(false);
      expect(again.json).toEqual({ id: first.json.id, deduplicated: true });
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats.ready).toBe(1);
    });

    test('nack releases for redelivery with receiveCount + 1; stale receipts are unknown', async () => {
      const q = n('nack');
      await as('alice', 'POST', '/v1/queues', { name: q });
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'again' });
      const first = (await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages[0];
      const released = await as('alice', 'POST', `/v1/queues/${q}/nack`, { receiptHandles: [first.receiptHandle] });
      expectStatus(released, 200);
      expect(released.json).toEqual({ released: 1, unknown: [] });
      const second = (await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages[0];
      expect(second.id).toBe(first.id);
      expect(second.receiveCount).toBe(2);
      const stale = await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: [first.receiptHandle] });
      expect(stale.json).toEqual({ acked: 0, unknown: [first.receiptHandle] });
      const fresh = await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: [second.receiptHandle] });
      expect(fresh.json).toEqual({ acked: 1, unknown: [] });
    });

    test('visibility: 200 {visibleAt}; an unknown receipt is 404', async () => {
      const q = n('vis');
      await as('alice', 'POST', '/v1/queues', { name: q });
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'v' });
      const m = (await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages[0];
      const res = await as('alice', 'POST', `/v1/queues/${q}/visibility`, { receiptHandle: m.receiptHandle, visibilityTimeoutMs: 120_000 });
      expectStatus(res, 200);
      expect(res.json.visibleAt).toMatch(ISO);
      expect(Date.parse(res.json.visibleAt)).toBeGreaterThan(Date.now() + 60_000);
      expectError(
        await as('alice', 'POST', `/v1/queues/${q}/visibility`, { receiptHandle: 'nope', visibilityTimeoutMs: 1000 }),
        404,
        'not_found',
      );
    });

    test('delayMs: a delayed message is not ready until its delay passes', async () => {
      const q = n('delay');
      await as('alice', 'POST', '/v1/queues', { name: q });
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'later', delayMs: 600_000 }), 201);
      expect((await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages).toEqual([]);
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats).toEqual({ ready: 0, inflight: 0, delayed: 1 });
    });

    test('maxReceives + deadLetterQueue: a message received too often moves to the DLQ', async () => {
      const dlq = n('dlq');
      const q = n('with-dlq');
      expectStatus(await as('alice', 'POST', '/v1/queues', { name: dlq }), 201);
      const created = await as('alice', 'POST', '/v1/queues', { name: q, maxReceives: 1, deadLetterQueue: dlq, visibilityTimeoutMs: 60_000 });
      expectStatus(created, 201);
      expect(created.json).toMatchObject({ maxReceives: 1, deadLetterQueue: dlq, visibilityTimeoutMs: 60_000 });
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'poison' });
      const m = (await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages[0];
      await as('alice', 'POST', `/v1/queues/${q}/nack`, { receiptHandles: [m.receiptHandle] });
      expect((await as('alice', 'POST', `/v1/queues/${q}/receive`, {})).json.messages).toEqual([]);
      const dead = (await as('alice', 'POST', `/v1/queues/${dlq}/receive`, {})).json.messages;
      expect(dead.map((d: { body: string }) => d.body)).toEqual(['poison']);
    });

    test('grants: PUT 200 {username, permissions}; grantee may send/receive; DELETE 204 takes it back', async () => {
      const q = n('shared');
      await as('alice', 'POST', '/v1/queues', { name: q });
      expectError(await as('bob', 'POST', `/v1/queues/${q}/messages`, { body: 'x' }), 403, 'forbidden');
      const granted = await as('alice', 'PUT', `/v1/queues/${q}/grants/${n('bob')}`, { permissions: ['send'] });
      expectStatus(granted, 200);
      expect(granted.json).toEqual({ username: n('bob'), permissions: ['send'] });
      expectStatus(await as('bob', 'POST', `/v1/queues/${q}/messages`, { body: 'from bob' }), 201);
      expectError(await as('bob', 'POST', `/v1/queues/${q}/receive`, {}), 403, 'forbidden');
      expectError(await as('bob', 'PUT', `/v1/queues/${q}/grants/${n('carol')}`, { permissions: ['send'] }), 403, 'forbidden');
      const visible = await as('bob', 'GET', '/v1/queues');
      expect(visible.json.queues.map((x: { name: string }) => x.name)).toContain(q);
      expectStatus(await as('alice', 'DELETE', `/v1/queues/${q}/grants/${n('bob')}`), 204);
      expectError(await as('bob', 'POST', `/v1/queues/${q}/messages`, { body: 'x' }), 403, 'forbidden');
    });

    test('purge: 200 {purged: n}, owner only', async () => {
      const q = n('purge');
      await as('alice', 'POST', '/v1/queues', { name: q });
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { messages: [{ body: 'a' }, { body: 'b' }] });
      expectError(await as('bob', 'POST', `/v1/queues/${q}/purge`), 403, 'forbidden');
      const res = await as('alice', 'POST', `/v1/queues/${q}/purge`);
      expectStatus(res, 200);
      expect(res.json).toEqual({ purged: 2 });
    });

    test('delete: 204, owner only; then 404', async () => {
      const q = n('doomed');
      await as('alice', 'POST', '/v1/queues', { name: q });
      expectError(await as('bob', 'DELETE', `/v1/queues/${q}`), 403, 'forbidden');
      const res = await as('alice', 'DELETE', `/v1/queues/${q}`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      expectError(await as('alice', 'GET', `/v1/queues/${q}`), 404, 'not_found');
      expectError(await as('alice', 'DELETE', `/v1/queues/${q}`), 404, 'not_found');
    });

    test('long polling: waitMs answers as soon as a message is ready', async () => {
      const q = n('longpoll');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const started = Date.now();
      const waiting = as('alice', 'POST', `/v1/queues/${q}/receive`, { waitMs: 15_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'wake up' });
      const res = await waiting;
      expectStatus(res, 200);
      expect(res.json.messages.map((m: { body: string }) => m.body)).toEqual(['wake up']);
      expect(Date.now() - started).toBeLessThan(12_000);
    });

    test('long polling: a client that hangs up ends its wait, also through a forwarding follower', async () => {
      const q = n('hangup');
      await as('alice', 'POST', '/v1/queues', { name: q });
      // Forward mode: the poll goes through a follower, which relays it over gRPC and
      // must cancel it on the leader. Redirect mode: straight to the leader.
      const target = cluster.mode === 'forward' ? via : await cluster.leaderUrl();
      const controller = new AbortController();
      const polling = fetch(`${target}/v1/queues/${q}/receive`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({ waitMs: 20_000 }),
        signal: controller.signal,
      }).catch((err: Error) => err.name);
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      expect(await polling).toBe('AbortError');
      // Time for the hang-up to travel (follower -> gRPC -> leader) on a busy machine.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'for someone else' });
      // Had the abandoned poll still been waiting, it would have leased this message.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const res = await as('alice', 'GET', `/v1/queues/${q}`);
      expect(res.json.stats).toEqual({ ready: 1, inflight: 0, delayed: 0 });
    });

    test('long polling: a delayed message is answered when its delay passes, not at some later tick', async () => {
      const q = n('delayed-wake');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const started = Date.now();
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'in 1.2 s', delayMs: 1200 }), 201);
      const res = await as('alice', 'POST', `/v1/queues/${q}/receive`, { waitMs: 10_000 });
      const elapsed = Date.now() - started;
      expect(res.json.messages.map((m: { body: string }) => m.body)).toEqual(['in 1.2 s']);
      expect(elapsed).toBeGreaterThanOrEqual(1150);
      // The wake-up follows the delay within a Raft tick or so; the idle tick (every
      // second without traffic) used to make it wait until 2 s.
      expect(elapsed).toBeLessThan(1900);
    });

    test('long polling: deleting the queue ends every wait on it with 404', async () => {
      const q = n('deleted-under');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const started = Date.now();
      const waiting = [1, 2].map(() => as('alice', 'POST', `/v1/queues/${q}/receive`, { waitMs: 15_000 }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expectStatus(await as('alice', 'DELETE', `/v1/queues/${q}`), 204);
      for (const res of await Promise.all(waiting)) expectError(res, 404, 'not_found');
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    test('long polling: an empty list when waitMs passes', async () => {
      const q = n('quiet');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const started = Date.now();
      const res = await as('alice', 'POST', `/v1/queues/${q}/receive`, { waitMs: 700 });
      expectStatus(res, 200);
      expect(res.json).toEqual({ messages: [] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    });

    test('long polling: many waiters, each message goes to exactly one of them', async () => {
      const q = n('crowd');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const waiters = Array.from({ length: 8 }, () => as('alice', 'POST', `/v1/queues/${q}/receive`, { waitMs: 2_000 }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { messages: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] });
      const got = (await Promise.all(waiters)).flatMap((r) => r.json.messages.map((m: { body: string }) => m.body));
      expect(got.sort()).toEqual(['a', 'b', 'c']);
    });

    test('Idempotency-Key: a repeat returns the first answer and changes nothing', async () => {
      const q = n('idem');
      await as('alice', 'POST', '/v1/queues', { name: q });
      const key = { 'Idempotency-Key': `send-${run}-1` };
      const first = await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'once' }, key);
      const again = await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'once' }, key);
      expectStatus(first, 201);
      expectStatus(again, 201);
      expect(again.json).toEqual(first.json);
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats.ready).toBe(1);
      // An error answer is repeated too, with its status.
      const createKey = { 'Idempotency-Key': `create-${run}` };
      expectError(await as('alice', 'POST', '/v1/queues', { name: q }, createKey), 409, 'conflict');
      expectError(await as('alice', 'POST', '/v1/queues', { name: q }, createKey), 409, 'conflict');
    });

    test('Idempotency-Key: an unauthenticated register neither reads nor plants a user\'s record', async () => {
      const q = n('idem-anon');
      await as('alice', 'POST', '/v1/queues', { name: q });
      await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'private' });
      const key = { 'Idempotency-Key': `anon-read-${run}` };
      const received = await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 1 }, key);
      expect(received.json.messages).toHaveLength(1);
      // A stranger registering alice's name under alice's key gets the register answer
      // (409: the name is taken), never alice's receive.
      const stolen = await call('POST', '/v1/auth/register', { body: { username: n('alice'), password: PASSWORD }, headers: key });
      expectError(stolen, 409, 'conflict');
      expect(stolen.text).not.toContain('private');
      // Registering with a key plants nothing that alice's own later write would hit.
      const planted = { 'Idempotency-Key': `anon-plant-${run}` };
      expectError(await call('POST', '/v1/auth/register', { body: { username: n('alice'), password: PASSWORD }, headers: planted }), 409, 'conflict');
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'mine' }, planted), 201);
      // A fresh user registering with a key: 201, and the repeat is a plain 409.
      const fresh = { 'Idempotency-Key': `anon-fresh-${run}` };
      expectStatus(await call('POST', '/v1/auth/register', { body: { username: n('frank'), password: PASSWORD }, headers: fresh }), 201);
      expectError(await call('POST', '/v1/auth/register', { body: { username: n('frank'), password: PASSWORD }, headers: fresh }), 409, 'conflict');
    });

    test('Idempotency-Key: reused on another route, the first answer comes back, status included', async () => {
      const q = n('idem-routes');
      const key = { 'Idempotency-Key': `cross-${run}` };
      const sent = await as('alice', 'POST', '/v1/queues', { name: q }, key);
      expectStatus(sent, 201);
      // A purge under the same key is a repeat: 201 and the created queue, nothing purged.
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { body: 'stays' }), 201);
      const purge = await as('alice', 'POST', `/v1/queues/${q}/purge`, undefined, key);
      expectStatus(purge, 201);
      expect(purge.json).toEqual(sent.json);
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats.ready).toBe(1);
      // A 204 answer replays as a 204 with no body.
      const deleteKey = { 'Idempotency-Key': `cross-delete-${run}` };
      expectStatus(await as('alice', 'DELETE', `/v1/queues/${q}`, undefined, deleteKey), 204);
      const create = await as('alice', 'POST', '/v1/queues', { name: q }, deleteKey);
      expectStatus(create, 204);
      expect(create.text).toBe('');
      expectError(await as('alice', 'GET', `/v1/queues/${q}`), 404, 'not_found');
    });
  });

  describe('topics and subscriptions', () => {
    test('create: 201 Topic; 409 when taken; list and get', async () => {
      const t = n('news');
      const res = await as('alice', 'POST', '/v1/topics', { name: t });
      expectStatus(res, 201);
      expect(res.json).toMatchObject({ name: t, owner: n('alice'), createdAt: expect.stringMatching(ISO), public: false, retentionMs: 604800000 });
      expectError(await as('bob', 'POST', '/v1/topics', { name: t }), 409, 'conflict');
      const list = await as('alice', 'GET', '/v1/topics');
      expectStatus(list, 200);
      expect(list.json.topics.map((x: { name: string }) => x.name)).toContain(t);
      const got = await as('alice', 'GET', `/v1/topics/${t}`);
      expectStatus(got, 200);
      expect(got.json.name).toBe(t);
      expectError(await as('alice', 'GET', `/v1/topics/${n('no-topic')}`), 404, 'not_found');
    });

    test('every subscription gets every message published after it was created, in order', async () => {
      const t = n('fanout');
      await as('alice', 'POST', '/v1/topics', { name: t });
      expectStatus(await as('alice', 'POST', `/v1/topics/${t}/messages`, { body: 'before' }), 201);
      const s1 = await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 's1' });
      expectStatus(s1, 201);
      expect(s1.json).toMatchObject({ name: 's1', topic: t, owner: n('alice'), ackTimeoutMs: 30000 });
      expectStatus(await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 's2', ackTimeoutMs: 5000 }), 201);
      expectError(await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 's2' }), 409, 'conflict');
      const one = await as('alice', 'POST', `/v1/topics/${t}/messages`, { body: 'p1' });
      expectStatus(one, 201);
      expect(one.json).toEqual({ id: expect.any(String), deduplicated: false });
      const batch = await as('alice', 'POST', `/v1/topics/${t}/messages`, { messages: [{ body: 'p2' }, { body: 'p3' }] });
      expectStatus(batch, 201);
      expect(batch.json.messages).toHaveLength(2);
      for (const sub of ['s1', 's2']) {
        const got = await as('alice', 'POST', `/v1/topics/${t}/subscriptions/${sub}/receive`, { max: 10 });
        expectStatus(got, 200);
        expect(got.json.messages.map((m: { body: string }) => m.body)).toEqual(['p1', 'p2', 'p3']);
        expect(got.json.messages[0]).toEqual({
          id: expect.any(String),
          body: 'p1',
          attributes: {},
          receiptHandle: expect.any(String),
          receiveCount: 1,
          sentAt: expect.stringMatching(ISO),
        });
        const handles = got.json.messages.map((m: { receiptHandle: string }) => m.receiptHandle);
        const nacked = await as('alice', 'POST', `/v1/topics/${t}/subscriptions/${sub}/nack`, { receiptHandles: handles.slice(0, 1) });
        expectStatus(nacked, 200);
        expect(nacked.json).toEqual({ released: 1, unknown: [] });
        const acked = await as('alice', 'POST', `/v1/topics/${t}/subscriptions/${sub}/ack`, { receiptHandles: handles.slice(1) });
        expectStatus(acked, 200);
        expect(acked.json).toEqual({ acked: 2, unknown: [] });
        const redelivered = await as('alice', 'POST', `/v1/topics/${t}/subscriptions/${sub}/receive`, { max: 10 });
        expect(redelivered.json.messages.map((m: { body: string; receiveCount: number }) => [m.body, m.receiveCount])).toEqual([['p1', 2]]);
      }
      const subs = await as('alice', 'GET', `/v1/topics/${t}/subscriptions`);
      expectStatus(subs, 200);
      expect(subs.json.subscriptions.map((s: { name: string }) => s.name).sort()).toEqual(['s1', 's2']);
    });

    test('long polling on a subscription', async () => {
      const t = n('lp-topic');
      await as('alice', 'POST', '/v1/topics', { name: t });
      await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 'waiter' });
      const waiting = as('alice', 'POST', `/v1/topics/${t}/subscriptions/waiter/receive`, { waitMs: 15_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await as('alice', 'POST', `/v1/topics/${t}/messages`, { body: 'ping' });
      const res = await waiting;
      expect(res.json.messages.map((m: { body: string }) => m.body)).toEqual(['ping']);
    });

    test('grants: publish and subscribe; public topics; DELETE 204', async () => {
      const t = n('guarded');
      await as('alice', 'POST', '/v1/topics', { name: t });
      expectError(await as('bob', 'POST', `/v1/topics/${t}/messages`, { body: 'x' }), 403, 'forbidden');
      expectError(await as('bob', 'POST', `/v1/topics/${t}/subscriptions`, { name: 'b' }), 403, 'forbidden');
      const grant = await as('alice', 'PUT', `/v1/topics/${t}/grants/${n('bob')}`, { permissions: ['publish', 'subscribe'] });
      expectStatus(grant, 200);
      expect(grant.json).toEqual({ username: n('bob'), permissions: ['publish', 'subscribe'] });
      expectStatus(await as('bob', 'POST', `/v1/topics/${t}/subscriptions`, { name: 'b' }), 201);
      expectStatus(await as('bob', 'POST', `/v1/topics/${t}/messages`, { body: 'by bob' }), 201);
      expectError(await as('bob', 'PUT', `/v1/topics/${t}/grants/${n('carol')}`, { permissions: ['publish'] }), 403, 'forbidden');
      // Subscriptions are their owner's: alice sees only hers, and cannot delete bob's.
      expect((await as('alice', 'GET', `/v1/topics/${t}/subscriptions`)).json.subscriptions).toEqual([]);
      expectError(await as('alice', 'DELETE', `/v1/topics/${t}/subscriptions/b`), 403, 'forbidden');
      expectStatus(await as('alice', 'DELETE', `/v1/topics/${t}/grants/${n('bob')}`), 204);
      expectError(await as('bob', 'POST', `/v1/topics/${t}/messages`, { body: 'x' }), 403, 'forbidden');

      const open = n('open');
      const created = await as('alice', 'POST', '/v1/topics', { name: open, public: true });
      expect(created.json.public).toBe(true);
      expectStatus(await as('carol', 'POST', `/v1/topics/${open}/subscriptions`, { name: 'c' }), 201);
      expectError(await as('carol', 'POST', `/v1/topics/${open}/messages`, { body: 'x' }), 403, 'forbidden');
      expect((await as('carol', 'GET', '/v1/topics')).json.topics.map((x: { name: string }) => x.name)).toContain(open);
    });

    test('delete subscription 204 (owner); delete topic 204 takes its subscriptions', async () => {
      const t = n('short-lived');
      await as('alice', 'POST', '/v1/topics', { name: t });
      await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 'gone' });
      await as('alice', 'POST', `/v1/topics/${t}/subscriptions`, { name: 'stays' });
      expectStatus(await as('alice', 'DELETE', `/v1/topics/${t}/subscriptions/gone`), 204);
      expectError(await as('alice', 'POST', `/v1/topics/${t}/subscriptions/gone/receive`, {}), 404, 'not_found');
      expectError(await as('bob', 'DELETE', `/v1/topics/${t}`), 403, 'forbidden');
      expectStatus(await as('alice', 'DELETE', `/v1/topics/${t}`), 204);
      expectError(await as('alice', 'GET', `/v1/topics/${t}`), 404, 'not_found');
      expectError(await as('alice', 'POST', `/v1/topics/${t}/subscriptions/stays/receive`, {}), 404, 'not_found');
    });
  });

  describe('leader handling', () => {
    /** Asks a follower; if leadership moved meanwhile (503, or the asked node leads now), asks again. */
    async function onFollower(method: string, path: string, opts: RequestOptions) {
      for (let attempt = 0; ; attempt++) {
        const follower = await cluster.followerUrl();
        const leader = await cluster.leaderUrl();
        const res = await rawRequest(follower, method, path, opts);
        const moved = res.status === 503 || (await cluster.leaderUrl()) !== leader;
        if (!moved || attempt >= 4) return { res, leader };
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }

    test('a write on a follower is answered per the mode', async () => {
      const path = `/v1/queues?x=${run}`;
      const { res, leader } = await onFollower('POST', path, {
        token: tokens.alice,
        body: { name: n('via-follower') },
        headers: { 'idempotency-key': `via-follower-${run}` },
      });
      if (cluster.mode === 'redirect') {
        expectStatus(res, 307);
        expect(res.headers.get('location')).toBe(leader + path);
        const leaderStatus = await rawRequest(leader, 'GET', '/v1/cluster');
        expect(res.headers.get('x-mom-leader')).toBe(leaderStatus.json.nodeId);
        // Nothing happened on the follower: the queue does not exist yet.
        expectError(await as('alice', 'GET', `/v1/queues/${n('via-follower')}`), 404, 'not_found');
      } else {
        expectStatus(res, 201);
        expect(res.json.name).toBe(n('via-follower'));
      }
    });

    test('a linearizable GET on a follower goes to the leader; a write is visible to it at once', async () => {
      await as('alice', 'POST', '/v1/queues', { name: n('fresh') });
      const { res } = await onFollower('GET', `/v1/queues/${n('fresh')}`, { token: tokens.alice });
      if (cluster.mode === 'redirect') expectStatus(res, 307);
      else expectStatus(res, 200);
      const followed = await request(await cluster.followerUrl(), 'GET', `/v1/queues/${n('fresh')}`, { token: tokens.alice });
      expectStatus(followed, 200);
    });

    test('?consistency=stale is served by the follower itself with x-mom-applied-index', async () => {
      const follower = await cluster.followerUrl();
      const res = await rawRequest(follower, 'GET', '/v1/queues?consistency=stale', { token: tokens.alice });
      expectStatus(res, 200);
      expect(Number(res.headers.get('x-mom-applied-index'))).toBeGreaterThan(0);
      expect(Array.isArray(res.json.queues)).toBe(true);
    });
  });

  describe('bad input changes nothing', () => {
    const fixture = () => n('fixture');
    let before: { queues: string[]; topics: string[]; stats: unknown };

    const snapshot = async () => ({
      queues: (await as('alice', 'GET', '/v1/queues')).json.queues.map((q: { name: string }) => q.name).sort(),
      topics: (await as('alice', 'GET', '/v1/topics')).json.topics.map((t: { name: string }) => t.name).sort(),
      stats: (await as('alice', 'GET', `/v1/queues/${fixture()}`)).json.stats,
    });

    beforeAll(async () => {
      expectStatus(await as('alice', 'POST', '/v1/queues', { name: fixture() }), 201);
      expectStatus(await as('alice', 'POST', '/v1/topics', { name: n('fixture-topic') }), 201);
      before = await snapshot();
    });

    type Case = [string, string, string, Partial<RequestOptions> & { as?: string | null }, number, string];
    const q = () => `/v1/queues/${fixture()}`;
    const big = (bytes: number) => 'a'.repeat(bytes);
    const cases = (): Case[] => [
      ['body of the wrong type', 'POST', `${q()}/messages`, { body: { body: 123 } }, 400, 'validation_failed'],
      ['missing body field', 'POST', `${q()}/messages`, { body: {} }, 400, 'validation_failed'],
      ['extra field', 'POST', `${q()}/messages`, { body: { body: 'x', colour: 'red' } }, 400, 'validation_failed'],
      ['extra field in a batch message', 'POST', `${q()}/messages`, { body: { messages: [{ body: 'x', nope: 1 }] } }, 400, 'validation_failed'],
      ['JSON array instead of object', 'POST', `${q()}/messages`, { rawBody: '[]' }, 400, 'validation_failed'],
      ['JSON null', 'POST', `${q()}/messages`, { rawBody: 'null' }, 400, 'validation_failed'],
      ['invalid JSON', 'POST', `${q()}/messages`, { rawBody: '{"body":' }, 400, 'invalid_json'],
      ['invalid UTF-8', 'POST', `${q()}/messages`, { rawBody: Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) }, 400, 'invalid_json'],
      ['lone surrogate in a body', 'POST', `${q()}/messages`, { rawBody: '{"body":"\\ud800"}' }, 400, 'validation_failed'],
      ['request over 1 MiB', 'POST', `${q()}/messages`, { body: { body: big(1024 * 1024 + 10) } }, 413, 'payload_too_large'],
      ['message over 256 KiB', 'POST', `${q()}/messages`, { body: { body: big(256 * 1024 + 1) } }, 413, 'payload_too_large'],
      ['body plus attributes over 256 KiB', 'POST', `${q()}/messages`, { body: { body: big(128 * 1024), attributes: { k: big(128 * 1024) } } }, 413, 'payload_too_large'],
      ['101 attributes', 'POST', `${q()}/messages`, { body: { body: 'x', attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'v'])) } }, 400, 'validation_failed'],
      ['batch message over 256 KiB', 'POST', `${q()}/messages`, { body: { messages: [{ body: 'ok' }, { body: big(256 * 1024 + 1) }] } }, 413, 'payload_too_large'],
      ['batch of 101', 'POST', `${q()}/messages`, { body: { messages: Array.from({ length: 101 }, () => ({ body: 'x' })) } }, 400, 'validation_failed'],
      ['empty batch', 'POST', `${q()}/messages`, { body: { messages: [] } }, 400, 'validation_failed'],
      ['negative delayMs', 'POST', `${q()}/messages`, { body: { body: 'x', delayMs: -1 } }, 400, 'validation_failed'],
      ['delayMs over 900000', 'POST', `${q()}/messages`, { body: { body: 'x', delayMs: 900_001 } }, 400, 'validation_failed'],
      ['fractional delayMs', 'POST', `${q()}/messages`, { body: { body: 'x', delayMs: 1.5 } }, 400, 'validation_failed'],
      ['huge delayMs', 'POST', `${q()}/messages`, { body: { body: 'x', delayMs: 1e300 } }, 400, 'validation_failed'],
      ['string number', 'POST', `${q()}/messages`, { body: { body: 'x', delayMs: '5' } }, 400, 'validation_failed'],
      ['attributes not strings', 'POST', `${q()}/messages`, { body: { body: 'x', attributes: { a: 1 } } }, 400, 'validation_failed'],
      ['delayMs on a topic', 'POST', `/v1/topics/${n('fixture-topic')}/messages`, { body: { body: 'x', delayMs: 5 } }, 400, 'validation_failed'],
      ['receive max 0', 'POST', `${q()}/receive`, { body: { max: 0 } }, 400, 'validation_failed'],
      ['receive max 101', 'POST', `${q()}/receive`, { body: { max: 101 } }, 400, 'validation_failed'],
      ['waitMs over 20000', 'POST', `${q()}/receive`, { body: { waitMs: 20_001 } }, 400, 'validation_failed'],
      ['negative waitMs', 'POST', `${q()}/receive`, { body: { waitMs: -5 } }, 400, 'validation_failed'],
      ['ack without handles', 'POST', `${q()}/ack`, { body: {} }, 400, 'validation_failed'],
      ['ack handles not an array', 'POST', `${q()}/ack`, { body: { receiptHandles: 'h' } }, 400, 'validation_failed'],
      ['queue name with a space', 'POST', '/v1/queues', { body: { name: 'has space' } }, 400, 'validation_failed'],
      ['queue name with a slash', 'POST', '/v1/queues', { body: { name: 'a/b' } }, 400, 'validation_failed'],
      ['queue name in unicode', 'POST', '/v1/queues', { body: { name: 'ünï' } }, 400, 'validation_failed'],
      ['10 KB queue name', 'POST', '/v1/queues', { body: { name: big(10_000) } }, 400, 'validation_failed'],
      ['empty queue name', 'POST', '/v1/queues', { body: { name: '' } }, 400, 'validation_failed'],
      ['name starting with a dot', 'POST', '/v1/queues', { body: { name: '.x' } }, 400, 'validation_failed'],
      ['negative visibility timeout', 'POST', '/v1/queues', { body: { name: n('neg'), visibilityTimeoutMs: -1 } }, 400, 'validation_failed'],
      ['huge retention', 'POST', '/v1/queues', { body: { name: n('huge'), retentionMs: 1e20 } }, 400, 'validation_failed'],
      ['unknown queue field', 'POST', '/v1/queues', { body: { name: n('extra'), fifo: true } }, 400, 'validation_failed'],
      ['bad grant permission', 'PUT', `${q()}/grants/${n('bob')}`, { body: { permissions: ['admin'] } }, 400, 'validation_failed'],
      ['topic permission on a queue', 'PUT', `${q()}/grants/${n('bob')}`, { body: { permissions: ['publish'] } }, 400, 'validation_failed'],
      ['path name with a space', 'GET', '/v1/queues/has%20space', {}, 400, 'validation_failed'],
      ['path name in unicode', 'POST', '/v1/queues/%C3%BC/messages', { body: { body: 'x' } }, 400, 'validation_failed'],
      ['path name with an encoded slash', 'POST', '/v1/queues/a%2Fb/messages', { body: { body: 'x' } }, 400, 'validation_failed'],
      ['10 KB path name', 'POST', `/v1/queues/${big(10_000)}/messages`, { body: { body: 'x' } }, 400, 'validation_failed'],
      ['bad consistency', 'GET', `${q()}?consistency=eventual`, {}, 400, 'validation_failed'],
      ['Idempotency-Key over 128', 'POST', `${q()}/messages`, { body: { body: 'x' }, headers: { 'idempotency-key': 'k'.repeat(129) } }, 400, 'validation_failed'],
      ['Idempotency-Key not ASCII', 'POST', `${q()}/messages`, { body: { body: 'x' }, headers: { 'idempotency-key': 'clé' } }, 400, 'validation_failed'],
      ['no token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: null }, 401, 'unauthorized'],
      ['not a bearer token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: null, headers: { authorization: 'Basic YWxpY2U6cGFzc3dvcmQ=' } }, 401, 'unauthorized'],
      ['garbage token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: 'garbage.token.here' }, 401, 'unauthorized'],
      ['tampered token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: 'tampered' }, 401, 'unauthorized'],
      ['alg none token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: 'none' }, 401, 'unauthorized'],
      ['expired token', 'POST', `${q()}/messages`, { body: { body: 'x' }, as: 'expired' }, 401, 'unauthorized'],
      ["another cluster's token", 'POST', `${q()}/messages`, { body: { body: 'x' }, as: 'foreign' }, 401, 'unauthorized'],
      ['short password', 'POST', '/v1/auth/register', { body: { username: n('shorty'), password: 'short' }, as: null }, 400, 'validation_failed'],
      ['username with a space', 'POST', '/v1/auth/register', { body: { username: 'a b', password: PASSWORD }, as: null }, 400, 'validation_failed'],
      ['register extra field', 'POST', '/v1/auth/register', { body: { username: n('x1'), password: PASSWORD, admin: true }, as: null }, 400, 'validation_failed'],
    ];

    async function forgedToken(kind: string): Promise<string> {
      const key = new TextEncoder().encode(cluster.jwtSecret);
      const base = () =>
        new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(n('alice')).setIssuer('mom-broker').setAudience(cluster.clusterId);
      switch (kind) {
        case 'tampered': {
          const [h, p, s] = tokens.alice.split('.');
          const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
          return `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: n('bob') })).toString('base64url')}.${s}`;
        }
        case 'none':
          return new UnsecuredJWT({}).setSubject(n('alice')).setIssuer('mom-broker').setAudience(cluster.clusterId).setExpirationTime('1h').encode();
        case 'expired':
          return base().setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key);
        case 'foreign':
          return base().setExpirationTime('1h').sign(new TextEncoder().encode('a-different-cluster-secret-0123456789'));
        default:
          return kind;
      }
    }

    test('the forged "expired" token would be accepted if it had not expired (the check is real)', async () => {
      const key = new TextEncoder().encode(cluster.jwtSecret);
      const valid = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(n('alice'))
        .setIssuer('mom-broker')
        .setAudience(cluster.clusterId)
        .setExpirationTime('1h')
        .sign(key);
      expectStatus(await call('GET', `/v1/queues/${fixture()}`, { token: valid }), 200);
    });

    test.each(cases())('%s', async (_name, method, path, opts, status, code) => {
      const token = opts.as === undefined ? tokens.alice : opts.as === null ? undefined : await forgedToken(opts.as);
      const res = await call(method, path, { ...opts, token });
      expectError(res, status, code);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('no user starves or reaches into another: quotas, receipts, idempotency bounds', () => {
    /** A fresh user with a token, so that the counts start at zero. */
    async function freshUser(base: string): Promise<string> {
      const username = n(base);
      expectStatus(await call('POST', '/v1/auth/register', { body: { username, password: PASSWORD } }), 201);
      const login = await call('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
      expectStatus(login, 200);
      tokens[base] = login.json.token;
      return username;
    }

    function expectQuota(res: RawResponse, limit: string): void {
      expectError(res, 403, 'quota_exceeded');
      expect(res.json.error.details).toMatchObject({ limit, max: CONFORMANCE_LIMITS[limit] });
    }

    test('over queuesPerUser: 403 quota_exceeded naming the limit, and nothing is created', async () => {
      await freshUser('quota-q');
      const max = CONFORMANCE_LIMITS.queuesPerUser;
      for (let i = 0; i < max; i++) expectStatus(await as('quota-q', 'POST', '/v1/queues', { name: n(`qq${i}`) }), 201);
      const over = await as('quota-q', 'POST', '/v1/queues', { name: n('qq-over') });
      expectQuota(over, 'queuesPerUser');
      expect(over.json.error.details).toMatchObject({ current: max, requested: 1 });
      expectError(await as('quota-q', 'GET', `/v1/queues/${n('qq-over')}`), 404, 'not_found');
      expect((await as('quota-q', 'GET', '/v1/queues')).json.queues).toHaveLength(max);
      // Deleting one makes room again.
      expectStatus(await as('quota-q', 'DELETE', `/v1/queues/${n('qq0')}`), 204);
      expectStatus(await as('quota-q', 'POST', '/v1/queues', { name: n('qq-over') }), 201);
    });

    test('over messagesPerQueue or queuedBytesPerQueue: the send is refused whole', async () => {
      await freshUser('quota-m');
      const q = n('quota-msgs');
      expectStatus(await as('quota-m', 'POST', '/v1/queues', { name: q }), 201);
      const batch = (count: number, body = 'm') => ({ messages: Array.from({ length: count }, () => ({ body })) });
      const max = CONFORMANCE_LIMITS.messagesPerQueue;
      expectStatus(await as('quota-m', 'POST', `/v1/queues/${q}/messages`, batch(100)), 201);
      expectStatus(await as('quota-m', 'POST', `/v1/queues/${q}/messages`, batch(max - 101)), 201);
      expectQuota(await as('quota-m', 'POST', `/v1/queues/${q}/messages`, batch(2)), 'messagesPerQueue');
      expect((await as('quota-m', 'GET', `/v1/queues/${q}`)).json.stats).toEqual({ ready: max - 1, inflight: 0, delayed: 0 });
      expectStatus(await as('quota-m', 'POST', `/v1/queues/${q}/messages`, batch(1)), 201);

      const big = n('quota-bytes');
      expectStatus(await as('quota-m', 'POST', '/v1/queues', { name: big }), 201);
      const body = 'b'.repeat(200 * 1024);
      const fits = Math.floor(CONFORMANCE_LIMITS.queuedBytesPerQueue / body.length);
      for (let i = 0; i < fits; i++) expectStatus(await as('quota-m', 'POST', `/v1/queues/${big}/messages`, { body }), 201);
      expectQuota(await as('quota-m', 'POST', `/v1/queues/${big}/messages`, { body }), 'queuedBytesPerQueue');
      expect((await as('quota-m', 'GET', `/v1/queues/${big}`)).json.stats.ready).toBe(fits);
    });

    test('receipt handles cannot be guessed: a co-consumer forging or altering one gets unknown', async () => {
      const q = n('receipts');
      expectStatus(await as('alice', 'POST', '/v1/queues', { name: q }), 201);
      expectStatus(await as('alice', 'PUT', `/v1/queues/${q}/grants/${n('bob')}`, { permissions: ['receive'] }), 200);
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { messages: [{ body: 'one' }, { body: 'two' }] }), 201);
      const got = await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 1, visibilityTimeoutMs: 60_000 });
      expectStatus(got, 200);
      const handle: string = got.json.messages[0].receiptHandle;
      // 128 bits, base64url: nothing a client can derive from ids or log positions.
      expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const flipped = handle.slice(0, 3) + (handle[3] === 'A' ? 'B' : 'A') + handle.slice(4);
      const forged = [flipped, '1.0', '2a.0', handle.slice(0, 21), `${handle}x`];
      const ack = await as('bob', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: forged });
      expectStatus(ack, 200);
      expect(ack.json).toEqual({ acked: 0, unknown: forged });
      const nack = await as('bob', 'POST', `/v1/queues/${q}/nack`, { receiptHandles: forged });
      expect(nack.json).toEqual({ released: 0, unknown: forged });
      expectError(await as('bob', 'POST', `/v1/queues/${q}/visibility`, { receiptHandle: flipped, visibilityTimeoutMs: 0 }), 404, 'not_found');
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats).toEqual({ ready: 1, inflight: 1, delayed: 0 });
      expect((await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: [handle] })).json).toEqual({ acked: 1, unknown: [] });
    });

    test('a replayed receive returns the leases that still run, and leases nothing more', async () => {
      const q = n('replay-receive');
      expectStatus(await as('alice', 'POST', '/v1/queues', { name: q }), 201);
      expectStatus(await as('alice', 'POST', `/v1/queues/${q}/messages`, { messages: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] }), 201);
      const key = { 'Idempotency-Key': `replay-receive-${run}` };
      const first = await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2, visibilityTimeoutMs: 60_000 }, key);
      expectStatus(first, 200);
      expect(first.json.messages.map((m: { body: string }) => m.body)).toEqual(['a', 'b']);
      expect((await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2, visibilityTimeoutMs: 60_000 }, key)).json).toEqual(first.json);
      await as('alice', 'POST', `/v1/queues/${q}/ack`, { receiptHandles: [first.json.messages[0].receiptHandle] });
      const again = await as('alice', 'POST', `/v1/queues/${q}/receive`, { max: 2, visibilityTimeoutMs: 60_000 }, key);
      expectStatus(again, 200);
      expect(again.json).toEqual({ messages: [first.json.messages[1]] });
      expect((await as('alice', 'GET', `/v1/queues/${q}`)).json.stats).toEqual({ ready: 1, inflight: 1, delayed: 0 });
    });

    test('past idempotencyRecordsPerUser the oldest key of that user is evicted and no longer replayed', async () => {
      await freshUser('quota-idem');
      const q = n('idem-bound');
      const createKey = { 'Idempotency-Key': `bound-create-${run}` };
      expectStatus(await as('quota-idem', 'POST', '/v1/queues', { name: q }, createKey), 201);
      // Other keyed writes up to the bound: the create is still replayed (201, not 409).
      const bound = CONFORMANCE_LIMITS.idempotencyRecordsPerUser;
      for (let i = 1; i < bound; i++) {
        expectStatus(await as('quota-idem', 'POST', `/v1/queues/${q}/purge`, undefined, { 'Idempotency-Key': `bound-${run}-${i}` }), 200);
      }
      expectStatus(await as('quota-idem', 'POST', '/v1/queues', { name: q }, createKey), 201);
      expectStatus(await as('quota-idem', 'POST', `/v1/queues/${q}/purge`, undefined, { 'Idempotency-Key': `bound-${run}-last` }), 200);
      // One more: the create's record was the oldest, so the retry runs again and conflicts.
      expectError(await as('quota-idem', 'POST', '/v1/queues', { name: q }, createKey), 409, 'conflict');
    });
  });
}
