// The REST core against scripted servers: redirects keep Authorization and the key,
// retries reuse one Idempotency-Key, failover to the next URL, typed errors, abort.
import { afterEach, describe, expect, test } from '@jest/globals';
import { MomClient } from '../../src/client/index.js';
import { MomApiError, MomConnectionError, MomRetriesExhaustedError } from '../../src/client/errors.js';
import { closedPort, drop, json, testServer, type TestServer } from './support.js';

const fast = { baseMs: 5, maxMs: 20 };

describe('REST client', () => {
  const servers: TestServer[] = [];
  const clients: MomClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const serve = async (...args: Parameters<typeof testServer>) => {
    const s = await testServer(...args);
    servers.push(s);
    return s;
  };
  const client = (urls: string[], extra: Partial<ConstructorParameters<typeof MomClient>[0]> = {}) => {
    const c = new MomClient({ urls, token: 't0k', retry: fast, random: () => 0, ...extra });
    clients.push(c);
    return c;
  };

  test('follows a 307 to the leader with method, body, Authorization and Idempotency-Key, then goes there directly', async () => {
    const leader = await serve((_req, res) => json(res, 201, { id: 'm1', deduplicated: false }));
    const follower = await serve((req, res) => json(res, 307, {}, { location: `${leader.url}${req.url}`, 'x-mom-leader': 'n1' }));
    const c = client([follower.url]);
    const sent = await c.queue('orders').send({ body: 'hi' }, { idempotencyKey: 'k-1' });
    expect(sent).toEqual({ id: 'm1', deduplicated: false });
    expect(leader.seen).toEqual([expect.objectContaining({ method: 'POST', url: '/v1/queues/orders/messages', body: '{"body":"hi"}' })]);
    expect(leader.seen[0].headers.authorization).toBe('Bearer t0k');
    expect(leader.seen[0].headers['idempotency-key']).toBe('k-1');
    await c.queue('orders').send('again');
    expect(follower.seen).toHaveLength(1);
    expect(leader.seen).toHaveLength(2);
    expect(c.rest.redirects).toBe(1);
  });

  test('a body given as bytes is sent as those bytes, on every request', async () => {
    const s = await serve((_req, res) => json(res, 201, { id: 'm1', deduplicated: false }));
    const c = client([s.url]);
    const bytes = Buffer.from(JSON.stringify({ messages: [{ body: 'é'.repeat(3000) }, { body: 'x' }] }));
    for (let i = 0; i < 2; i++) {
      const reply = await c.rest.exchange('POST', '/v1/queues/q/messages', { 'content-type': 'application/json' }, bytes);
      expect(reply.status).toBe(201);
    }
    expect(s.seen.map((r) => r.body)).toEqual([bytes.toString('utf8'), bytes.toString('utf8')]);
  });

  test('a lost answer is retried with the same generated Idempotency-Key', async () => {
    let calls = 0;
    const s = await serve((_req, res) => (++calls === 1 ? drop(res) : json(res, 201, { id: 'm1', deduplicated: false })));
    const sent = await client([s.url]).queue('q').send('x');
    expect(sent.id).toBe('m1');
    expect(s.seen).toHaveLength(2);
    const keys = s.seen.map((r) => r.headers['idempotency-key']);
    expect(typeof keys[0]).toBe('string');
    expect(keys[1]).toBe(keys[0]);
  });

  test('two logical writes get two different keys', async () => {
    const s = await serve((_req, res) => json(res, 201, { id: 'm', deduplicated: false }));
    const q = client([s.url]).queue('q');
    await q.send('a');
    await q.send('b');
    expect(s.seen[0].headers['idempotency-key']).not.toBe(s.seen[1].headers['idempotency-key']);
  });

  test('503 no_leader moves to another node and retries with the same key', async () => {
    const down = await serve((_req, res) => json(res, 503, { error: { code: 'no_leader', message: 'election' } }));
    const up = await serve((_req, res) => json(res, 201, { id: 'm2', deduplicated: false }));
    const sent = await client([down.url, up.url]).queue('q').send('x');
    expect(sent.id).toBe('m2');
    expect(down.seen).toHaveLength(1);
    expect(up.seen[0].headers['idempotency-key']).toBe(down.seen[0].headers['idempotency-key']);
  });

  test('a refused connection fails over to the next URL', async () => {
    const up = await serve((_req, res) => json(res, 200, { queues: [] }));
    const c = client([`http://127.0.0.1:${await closedPort()}`, up.url]);
    expect(await c.listQueues()).toEqual([]);
    expect(up.seen).toHaveLength(1);
  });

  test('a write sent without a key is not repeated after a lost answer', async () => {
    const s = await serve((_req, res) => drop(res));
    const err = await client([s.url]).queue('q').send('x', {}).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MomRetriesExhaustedError); // with its generated key it was retried
    const s2 = await serve((_req, res) => drop(res));
    const c = client([s2.url]);
    const err2 = await c.rest.call({ method: 'POST', path: '/v1/queues/q/messages', body: { body: 'x' }, idempotencyKey: false }).then(() => undefined, (e: unknown) => e);
    expect(err2).toBeInstanceOf(MomConnectionError);
    expect((err2 as MomConnectionError).maybeApplied).toBe(true);
    expect(s2.seen).toHaveLength(1);
  });

  test('a 4xx is a typed error, never retried', async () => {
    const s = await serve((_req, res) => json(res, 409, { error: { code: 'conflict', message: 'queue q exists', details: { name: 'q' } } }));
    const err = await client([s.url]).createQueue({ name: 'q' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MomApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict', details: { name: 'q' } });
    expect(s.seen).toHaveLength(1);
  });

  test('retries stop at the attempt limit with the last failure as cause', async () => {
    const s = await serve((_req, res) => json(res, 503, { error: { code: 'no_leader', message: 'x' } }));
    const err = await client([s.url], { retry: { ...fast, attempts: 3 } }).listQueues().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MomRetriesExhaustedError);
    expect((err as MomRetriesExhaustedError).last).toMatchObject({ code: 'no_leader' });
    expect(s.seen).toHaveLength(3);
  });

  test('an AbortSignal ends a request in flight with its reason', async () => {
    const s = await serve(() => undefined); // never answers
    const ac = new AbortController();
    const pending = client([s.url]).queue('q').receive({ waitMs: 20_000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user gave up')), 50);
    await expect(pending).rejects.toThrow('user gave up');
  });

  test('a redirect loop ends as an error, not a hang', async () => {
    const s = await serve((req, res) => json(res, 307, {}, { location: req.url }));
    const err = await client([s.url], { retry: { ...fast, attempts: 1 } }).queue('q').send('x').then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOO_MANY_REDIRECTS' });
  });
});
