// The stream protocol (docs/STREAM.md) against the in-process API: the same routes and
// broker as REST, one WebSocket per test, raw JSON frames.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT } from 'jose';
import { CLOSE } from '../../src/api/stream/protocol.js';
import { StreamClient } from '../../src/client/stream.js';
import { rawRequest } from './support/client.js';
import { startInProcessCluster, type InProcessCluster } from './support/in-process.js';
import { RawStream } from './support/raw-stream.js';

const GRACE_MS = 300;
let cluster: InProcessCluster;
let token: string;
let otherToken: string;
const opened: RawStream[] = [];

async function login(username: string): Promise<string> {
  const password = 'stream-password';
  expect((await rawRequest(cluster.leaderUrl, 'POST', '/v1/auth/register', { body: { username, password } })).status).toBe(201);
  const res = await rawRequest(cluster.leaderUrl, 'POST', '/v1/auth/login', { body: { username, password } });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

async function rest(method: string, path: string, body?: unknown, as = token) {
  return rawRequest(cluster.leaderUrl, method, path, { token: as, body });
}

async function open(tokenInHeader: string | null = token, url = cluster.leaderUrl): Promise<RawStream> {
  const s = await RawStream.open(url, tokenInHeader ?? undefined);
  opened.push(s);
  if (tokenInHeader) await s.next((f) => f.op === 'ready');
  return s;
}

/** A token of `username` that expires `inMs` from now (JWT expiry is in whole seconds). */
async function shortToken(username: string, inMs: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(username)
    .setIssuer('mom-broker')
    .setAudience(cluster.clusterId)
    .setIssuedAt()
    .setExpirationTime(Math.ceil((Date.now() + inMs) / 1000))
    .sign(new TextEncoder().encode(cluster.jwtSecret));
}

beforeAll(async () => {
  cluster = await startInProcessCluster('redirect', { stream: { authGraceMs: GRACE_MS } });
  token = await login('streamer');
  otherToken = await login('stranger');
  for (const name of ['s-send', 's-idem', 's-consume', 's-credit', 's-nack', 's-cancel', 's-errors', 's-producer']) {
    expect((await rest('POST', '/v1/queues', { name })).status).toBe(201);
  }
  expect((await rest('POST', '/v1/topics', { name: 's-topic' })).status).toBe(201);
  expect((await rest('POST', '/v1/topics/s-topic/subscriptions', { name: 'sub1' })).status).toBe(201);
});

afterAll(async () => {
  for (const s of opened) s.ws.terminate();
  await cluster.close();
});

describe('authentication', () => {
  test('a Bearer token on the upgrade: ready names the user and the node', async () => {
    const s = await open();
    const ready = await s.next((f) => f.op === 'ready');
    expect(ready).toMatchObject({ op: 'ready', user: 'streamer', node: 'n1', limits: { maxUnconfirmed: 1024 } });
  });

  test('a first auth frame (no header): ready echoes its id', async () => {
    const s = await open(null);
    s.send({ op: 'auth', id: 'a1', token });
    expect(await s.next((f) => f.op === 'ready')).toMatchObject({ op: 'ready', id: 'a1', user: 'streamer' });
    s.send({ op: 'send', id: 1, queue: 's-send', message: { body: 'after auth frame' } });
    expect(await s.answer(1)).toMatchObject({ op: 'ok', status: 201 });
  });

  test('a request before auth closes 4401', async () => {
    const s = await open(null);
    s.send({ op: 'send', id: 1, queue: 's-send', message: { body: 'x' } });
    expect((await s.waitClosed()).code).toBe(CLOSE.unauthorized);
  });

  test('a refused auth frame closes 4401; a refused header is HTTP 401 before the upgrade', async () => {
    const s = await open(null);
    s.send({ op: 'auth', token: 'a.b.c' });
    expect(await s.waitClosed()).toEqual({ code: CLOSE.unauthorized, reason: 'invalid token' });
    await expect(RawStream.open(cluster.leaderUrl, 'a.b.c')).rejects.toMatchObject({ status: 401 });
  });

  test('an expired token: auth_expired, then close 4401 after the grace period', async () => {
    const s = await open(await shortToken('streamer', 1_000));
    expect(await s.next((f) => f.op === 'auth_expired', 5_000)).toEqual({ op: 'auth_expired', graceMs: GRACE_MS });
    expect(await s.waitClosed(5_000)).toEqual({ code: CLOSE.unauthorized, reason: 'token expired' });
  });

  test('a fresh auth frame within the grace period keeps the stream', async () => {
    const s = await open(await shortToken('streamer', 1_000));
    await s.next((f) => f.op === 'auth_expired', 5_000);
    s.send({ op: 'auth', id: 'renew', token });
    await s.next((f) => f.op === 'ready' && f.id === 'renew');
    // Twice the grace period later it is still open and serving.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 2));
    s.send({ op: 'send', id: 2, queue: 's-send', message: { body: 'renewed' } });
    expect(await s.answer(2)).toMatchObject({ op: 'ok', status: 201 });
    expect(s.closed).toBeUndefined();
  });

  test('StreamClient: a token provider is asked again at auth_expired and the stream goes on', async () => {
    const tokens = [await shortToken('streamer', 1_000), token];
    let asked = 0;
    const client = await StreamClient.connect({ urls: [cluster.leaderUrl], token: () => tokens[Math.min(asked++, 1)] });
    try {
      while (asked < 2) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, GRACE_MS * 2));
      expect(await client.send('s-send', { body: 'after renewal' })).toMatchObject({ deduplicated: false });
      expect(client.reconnects).toBe(0);
    } finally {
      await client.close();
    }
  });

  test("another user's token does not take over a stream", async () => {
    const s = await open();
    s.send({ op: 'auth', id: 'x', token: otherToken });
    expect(await s.answer('x')).toMatchObject({ op: 'error', status: 403, error: { code: 'forbidden' } });
  });
});

describe('send and publish', () => {
  test('one message and a batch, each confirmed with the REST answer', async () => {
    const s = await open();
    s.send({ op: 'send', id: 'one', queue: 's-send', message: { body: 'hello', attributes: { k: 'v' } } });
    s.send({ op: 'send', id: 'many', queue: 's-send', messages: [{ body: 'b1' }, { body: 'b2', deduplicationId: 'd' }] });
    const one = await s.answer('one');
    expect(one).toMatchObject({ op: 'ok', status: 201, body: { deduplicated: false } });
    const many = await s.answer('many');
    expect(many).toMatchObject({ op: 'ok', status: 201 });
    expect((many as { body: { messages: unknown[] } }).body.messages).toHaveLength(2);
  });

  test('on the leader, frames are committed in the order they came, keyed or not', async () => {
    expect((await rest('POST', '/v1/queues', { name: 's-order' })).status).toBe(201);
    const s = await open();
    s.send({ op: 'send', id: 1, queue: 's-order', message: { body: 'o1' } });
    s.send({ op: 'send', id: 2, queue: 's-order', idempotencyKey: 'o-k', message: { body: 'o2' } });
    s.send({ op: 'send', id: 3, queue: 's-order', message: { body: 'o3' } });
    for (const id of [1, 2, 3]) await s.answer(id);
    const got = await rest('POST', '/v1/queues/s-order/receive', { max: 10 });
    expect(got.json.messages.map((m: { body: string }) => m.body)).toEqual(['o1', 'o2', 'o3']);
  });

  test('an Idempotency-Key repeated: the first answer, and one message in the queue', async () => {
    const s = await open();
    s.send({ op: 'send', id: 1, queue: 's-idem', idempotencyKey: 'k-1', message: { body: 'once' } });
    s.send({ op: 'send', id: 2, queue: 's-idem', idempotencyKey: 'k-1', message: { body: 'once' } });
    const [a, b] = [await s.answer(1), await s.answer(2)];
    expect(a).toMatchObject({ op: 'ok', status: 201 });
    expect((b as { body: unknown }).body).toEqual((a as { body: unknown }).body);
    expect((await rest('GET', '/v1/queues/s-idem')).json.stats).toMatchObject({ ready: 1 });
  });

  test('producer sequences: a frame resent on a new connection is answered from the window with its first ids', async () => {
    const first = await open();
    first.send({ op: 'send', id: 1, queue: 's-producer', producer: 'prod-A', seq: 0, message: { body: 'x0' } });
    first.send({ op: 'send', id: 2, queue: 's-producer', producer: 'prod-A', seq: 1, messages: [{ body: 'x1' }, { body: 'x2' }] });
    const a0 = (await first.answer(1)) as { body: { id: string } };
    const a1 = (await first.answer(2)) as { body: { messages: Array<{ id: string }> } };
    expect(a0).toMatchObject({ op: 'ok', status: 201, body: { deduplicated: false } });
    first.ws.terminate();
    // The client lost the answers: it resends both frames, with a new one, elsewhere.
    const second = await open();
    second.send({ op: 'send', id: 1, queue: 's-producer', producer: 'prod-A', seq: 0, message: { body: 'x0' } });
    second.send({ op: 'send', id: 2, queue: 's-producer', producer: 'prod-A', seq: 1, messages: [{ body: 'x1' }, { body: 'x2' }] });
    second.send({ op: 'send', id: 3, queue: 's-producer', producer: 'prod-A', seq: 2, message: { body: 'x3' } });
    expect(await second.answer(1)).toMatchObject({ op: 'ok', status: 201, body: { id: a0.body.id, deduplicated: true } });
    expect(await second.answer(2)).toMatchObject({ op: 'ok', status: 201, body: { messages: a1.body.messages.map((m) => ({ id: m.id, deduplicated: true })) } });
    expect(await second.answer(3)).toMatchObject({ op: 'ok', status: 201, body: { deduplicated: false } });
    const got = await rest('POST', '/v1/queues/s-producer/receive', { max: 10, visibilityTimeoutMs: 0 });
    expect(got.json.messages.map((m: { body: string }) => m.body)).toEqual(['x0', 'x1', 'x2', 'x3']);
    // A sequence far below the highest is refused: its answer is no longer known.
    second.send({ op: 'send', id: 4, queue: 's-producer', producer: 'prod-A', seq: 5000, message: { body: 'far' } });
    await second.answer(4);
    second.send({ op: 'send', id: 5, queue: 's-producer', producer: 'prod-A', seq: 0, message: { body: 'x0' } });
    expect(await second.answer(5)).toMatchObject({
      op: 'error', status: 409, error: { code: 'conflict', details: { reason: 'sequence_below_window', producer: 'prod-A', seq: 0, oldest: 3977 } },
    });
    // producer and seq go together, and are checked.
    second.send({ op: 'send', id: 6, queue: 's-producer', producer: 'prod-A', message: { body: 'no seq' } });
    second.send({ op: 'send', id: 7, queue: 's-producer', producer: 'bad id!', seq: 1, message: { body: 'x' } });
    expect(await second.answer(6)).toMatchObject({ op: 'error', status: 400, error: { code: 'validation_failed', details: [{ path: 'seq' }] } });
    expect(await second.answer(7)).toMatchObject({ op: 'error', status: 400, error: { code: 'validation_failed', details: [{ path: 'producer' }] } });
  });

  test('REST: X-Mom-Producer names the frames of a request; several frames are answered one by one', async () => {
    const send = (header: string, body: unknown) =>
      rawRequest(cluster.leaderUrl, 'POST', '/v1/queues/s-producer/messages', { token, body, headers: { 'x-mom-producer': header } });
    const one = await send('prod-R 7', { body: 'r7' });
    expect(one.status).toBe(201);
    const merged = await send('prod-R 7:1,8:2', { messages: [{ body: 'r7' }, { body: 'r8a' }, { body: 'r8b' }] });
    expect(merged.status).toBe(201);
    expect(merged.json.frames).toEqual([
      { status: 201, messages: [{ id: one.json.id, deduplicated: true }] },
      { status: 201, messages: [{ id: expect.any(String), deduplicated: false }, { id: expect.any(String), deduplicated: false }] },
    ]);
    expect((await send('prod-R 9:2', { body: 'x' })).json.error).toMatchObject({ code: 'validation_failed', details: [{ in: 'header', path: 'X-Mom-Producer' }] });
    expect((await send('prod-R', { body: 'x' })).status).toBe(400);
  });

  test('publish to a topic reaches its subscription', async () => {
    const s = await open();
    s.send({ op: 'publish', id: 'p', topic: 's-topic', message: { body: 'news' } });
    expect(await s.answer('p')).toMatchObject({ op: 'ok', status: 201 });
    const got = await rest('POST', '/v1/topics/s-topic/subscriptions/sub1/receive', { max: 10 });
    expect(got.json.messages.map((m: { body: string }) => m.body)).toContain('news');
  });

  test('per-request errors carry the REST status and code; the stream stays open', async () => {
    const s = await open();
    s.send({ op: 'send', id: 1, queue: 'no-such-queue', message: { body: 'x' } });
    s.send({ op: 'send', id: 2, queue: 'bad name!', message: { body: 'x' } });
    s.send({ op: 'send', id: 3, queue: 's-errors', message: { body: 'x', colour: 'red' } });
    s.send({ op: 'send', id: 4, queue: 's-errors', message: { body: 'x'.repeat(256 * 1024 + 1) } });
    s.send({ op: 'send', id: 5, queue: 's-errors', message: { body: 'x' }, extra: true });
    s.send({ op: 'send', id: 6, queue: 's-errors', message: { body: 'x' }, idempotencyKey: '' });
    s.send({ op: 'send', id: 7, queue: 's-errors', message: { body: 'x' }, messages: [{ body: 'y' }] });
    s.send({ op: 'send', id: 8, message: { body: 'x' } });
    s.send({ op: 'send', id: 9, queue: 's-errors', message: { body: 'fine' } });
    const codes = [];
    for (let id = 1; id <= 9; id++) {
      const a = await s.answer(id);
      codes.push(a.op === 'error' ? `${a.status} ${a.error.code}` : `${a.status}`);
    }
    expect(codes).toEqual([
      '404 not_found',
      '400 validation_failed',
      '400 validation_failed',
      '413 payload_too_large',
      '400 validation_failed',
      '400 validation_failed',
      '400 validation_failed',
      '400 validation_failed',
      '201',
    ]);
    expect(s.closed).toBeUndefined();
  });

  test("another user's queue is forbidden", async () => {
    const s = await open(otherToken);
    s.send({ op: 'send', id: 1, queue: 's-errors', message: { body: 'x' } });
    expect(await s.answer(1)).toMatchObject({ op: 'error', status: 403, error: { code: 'forbidden' } });
  });

  test('connection-level errors close with their codes', async () => {
    const notJson = await open();
    notJson.send('{not json');
    expect((await notJson.waitClosed()).code).toBe(CLOSE.protocolError);
    const noId = await open();
    noId.send({ op: 'send', queue: 's-errors', message: { body: 'x' } });
    expect((await noId.waitClosed()).code).toBe(CLOSE.protocolError);
    const unknownOp = await open();
    unknownOp.send({ op: 'explode', id: 1 });
    expect((await unknownOp.waitClosed()).code).toBe(CLOSE.protocolError);
    const binary = await open();
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.waitClosed()).code).toBe(CLOSE.unsupportedData);
    const huge = await open();
    huge.send({ op: 'send', id: 1, queue: 's-errors', message: { body: 'x'.repeat(2 * 1024 * 1024) } });
    expect((await huge.waitClosed()).code).toBe(CLOSE.tooBig);
  });
});

describe('consume', () => {
  test('deliveries are pushed as messages become ready (no polling by the client)', async () => {
    const s = await open();
    s.send({ op: 'consume', id: 'c', queue: 's-consume', prefetch: 10 });
    expect(await s.answer('c')).toMatchObject({ op: 'ok', status: 200, body: { consumer: 'c', prefetch: 10 } });
    expect(s.delivered('c')).toHaveLength(0);
    // Sent over REST after the consumer started waiting: the server wakes and pushes.
    expect((await rest('POST', '/v1/queues/s-consume/messages', { body: 'pushed' })).status).toBe(201);
    const [m] = await s.waitDelivered('c', 1);
    expect(m).toMatchObject({ body: 'pushed', receiveCount: 1 });
    expect(typeof m.receiptHandle).toBe('string');
    s.send({ op: 'ack', id: 'a', queue: 's-consume', receiptHandles: [m.receiptHandle] });
    expect(await s.answer('a')).toMatchObject({ op: 'ok', status: 200, body: { acked: 1 } });
  });

  test('credit: never more unacked deliveries than prefetch; an ack lets the next one through', async () => {
    const s = await open();
    const messages = Array.from({ length: 10 }, (_, i) => ({ body: `c-${i}` }));
    expect((await rest('POST', '/v1/queues/s-credit/messages', { messages })).status).toBe(201);
    s.send({ op: 'consume', id: 'c', queue: 's-credit', prefetch: 3 });
    const first = await s.waitDelivered('c', 3);
    expect(first.map((m) => m.body)).toEqual(['c-0', 'c-1', 'c-2']);
    // A round trip through the server (after the consumer's next chance to push).
    s.send({ op: 'send', id: 'probe', queue: 's-send', message: { body: 'probe' } });
    await s.answer('probe');
    expect(s.delivered('c')).toHaveLength(3);
    expect((await rest('GET', '/v1/queues/s-credit')).json.stats).toMatchObject({ ready: 7, inflight: 3 });
    s.send({ op: 'ack', id: 'a', queue: 's-credit', receiptHandles: [first[0].receiptHandle, first[1].receiptHandle] });
    const more = await s.waitDelivered('c', 5);
    expect(more.map((m) => m.body)).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
  });

  test('nack redelivers on the same consumer; extend answers; cancel ends the consumer', async () => {
    const s = await open();
    expect((await rest('POST', '/v1/queues/s-nack/messages', { body: 'again' })).status).toBe(201);
    s.send({ op: 'consume', id: 'c', queue: 's-nack', prefetch: 1 });
    const [m] = await s.waitDelivered('c', 1);
    s.send({ op: 'extend', id: 'e', queue: 's-nack', receiptHandle: m.receiptHandle, visibilityTimeoutMs: 60_000 });
    expect(await s.answer('e')).toMatchObject({ op: 'ok', status: 200 });
    s.send({ op: 'nack', id: 'n', queue: 's-nack', receiptHandles: [m.receiptHandle] });
    expect(await s.answer('n')).toMatchObject({ op: 'ok', status: 200, body: { released: 1 } });
    const again = await s.waitDelivered('c', 2);
    expect(again[1]).toMatchObject({ id: m.id, body: 'again', receiveCount: 2 });
    s.send({ op: 'cancel', id: 'x', consumer: 'c' });
    expect(await s.answer('x')).toMatchObject({ op: 'ok', body: { cancelled: 'c', unacked: 1 } });
    expect(await s.next((f) => f.op === 'end' && f.consumer === 'c')).toEqual({ op: 'end', consumer: 'c', error: null });
    s.send({ op: 'cancel', id: 'y', consumer: 'c' });
    expect(await s.answer('y')).toMatchObject({ op: 'error', status: 404 });
  });

  test('a subscription consumer, acked through the stream', async () => {
    const s = await open();
    s.send({ op: 'consume', id: 'c', topic: 's-topic', subscription: 'sub1', prefetch: 5 });
    await s.answer('c');
    s.send({ op: 'publish', id: 'p', topic: 's-topic', messages: [{ body: 't1' }, { body: 't2' }] });
    const got = await s.waitDelivered('c', 2);
    expect(got.map((m) => m.body)).toEqual(['t1', 't2']);
    s.send({ op: 'ack', id: 'a', topic: 's-topic', subscription: 'sub1', receiptHandles: got.map((m) => m.receiptHandle) });
    expect(await s.answer('a')).toMatchObject({ op: 'ok', body: { acked: 2 } });
  });

  test('a consumer the route refuses: its consume request fails with the REST error', async () => {
    const s = await open(otherToken);
    s.send({ op: 'consume', id: 'c', queue: 's-consume' });
    expect(await s.answer('c')).toMatchObject({ op: 'error', status: 403, error: { code: 'forbidden' } });
    s.send({ op: 'consume', id: 'd', queue: 's-consume', prefetch: 5000 });
    expect(await s.answer('d')).toMatchObject({ op: 'error', status: 400, error: { code: 'validation_failed' } });
    s.send({ op: 'consume', id: 'e', queue: 'nope' });
    expect(await s.answer('e')).toMatchObject({ op: 'error', status: 404 });
  });

  test('deleting the queue ends its consumers with not_found', async () => {
    expect((await rest('POST', '/v1/queues', { name: 's-doomed' })).status).toBe(201);
    const s = await open();
    s.send({ op: 'consume', id: 'c', queue: 's-doomed' });
    await s.answer('c');
    expect((await rest('DELETE', '/v1/queues/s-doomed')).status).toBe(204);
    expect(await s.next((f) => f.op === 'end' && f.consumer === 'c')).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('any node', () => {
  test('a follower answers the upgrade with a 307 to the leader', async () => {
    const err = await RawStream.open(cluster.followerUrls[0], token).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 307 });
    const { headers, body } = err as { headers: Record<string, string>; body: string };
    expect(headers.location).toBe(`${cluster.leaderUrl}/v1/stream`);
    expect(JSON.parse(body)).toMatchObject({ leader: { id: 'n1', url: cluster.leaderUrl } });
  });

  test('another path on the upgrade is 404', async () => {
    await expect(RawStream.open(cluster.leaderUrl.replace(/$/, '/v1'), token)).rejects.toMatchObject({ status: 404 });
  });
});

describe('forward mode: a follower keeps the stream and relays to the leader', () => {
  let fwd: InProcessCluster;
  let fwdToken: string;
  beforeAll(async () => {
    fwd = await startInProcessCluster('forward');
    const user = { username: 'relayed', password: 'relayed-password' };
    expect((await rawRequest(fwd.leaderUrl, 'POST', '/v1/auth/register', { body: user })).status).toBe(201);
    fwdToken = (await rawRequest(fwd.leaderUrl, 'POST', '/v1/auth/login', { body: user })).json.token;
    expect((await rawRequest(fwd.leaderUrl, 'POST', '/v1/queues', { token: fwdToken, body: { name: 'relay' } })).status).toBe(201);
  });
  afterAll(async () => {
    await fwd.close();
  });

  test('send, consume, ack and errors through a follower', async () => {
    const s = await RawStream.open(fwd.followerUrls[0], fwdToken);
    opened.push(s);
    expect(await s.next((f) => f.op === 'ready')).toMatchObject({ node: 'n2' });
    s.send({ op: 'consume', id: 'c', queue: 'relay', prefetch: 10 });
    await s.answer('c');
    s.send({ op: 'send', id: 1, queue: 'relay', message: { body: 'r1' } });
    s.send({ op: 'send', id: 2, queue: 'relay', idempotencyKey: 'rk', messages: [{ body: 'r2' }, { body: 'r3' }] });
    s.send({ op: 'send', id: 3, queue: 'missing', message: { body: 'x' } });
    expect(await s.answer(1)).toMatchObject({ op: 'ok', status: 201, body: { deduplicated: false } });
    expect(await s.answer(2)).toMatchObject({ op: 'ok', status: 201 });
    expect(await s.answer(3)).toMatchObject({ op: 'error', status: 404, error: { code: 'not_found' } });
    const got = await s.waitDelivered('c', 3);
    // Relayed requests in flight together may reach the leader in any order (docs/STREAM.md).
    expect(got.map((m) => m.body).sort()).toEqual(['r1', 'r2', 'r3']);
    s.send({ op: 'ack', id: 'a', queue: 'relay', receiptHandles: got.map((m) => m.receiptHandle) });
    expect(await s.answer('a')).toMatchObject({ op: 'ok', body: { acked: 3 } });
    const stats = await rawRequest(fwd.leaderUrl, 'GET', '/v1/queues/relay', { token: fwdToken });
    expect(stats.json.stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  test('producer frames relayed by a follower: a resend on a new connection is answered from the window', async () => {
    const frames = Array.from({ length: 6 }, (_, seq) => ({ op: 'send', id: seq, queue: 'relay', producer: 'relay-prod', seq, message: { body: `f${seq}` } }));
    const first = await RawStream.open(fwd.followerUrls[0], fwdToken);
    opened.push(first);
    await first.next((f) => f.op === 'ready');
    for (const f of frames) first.send(f);
    const answers = await Promise.all(frames.map((f) => first.answer(f.id))) as Array<{ op: string; body: { id: string; deduplicated: boolean } }>;
    expect(answers.every((a) => a.op === 'ok' && !a.body.deduplicated)).toBe(true);
    first.ws.terminate();
    const second = await RawStream.open(fwd.followerUrls[1] ?? fwd.followerUrls[0], fwdToken);
    opened.push(second);
    await second.next((f) => f.op === 'ready');
    for (const f of frames) second.send(f);
    const again = await Promise.all(frames.map((f) => second.answer(f.id)));
    expect(again).toEqual(answers.map((a) => ({ ...a, body: { id: a.body.id, deduplicated: true } })));
    // Stored once each (the earlier test's consumer may hold some of them).
    const { stats } = (await rawRequest(fwd.leaderUrl, 'GET', '/v1/queues/relay', { token: fwdToken })).json;
    expect(stats.ready + stats.inflight).toBe(6);
  });
});
