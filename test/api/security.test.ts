// Throttling behind a load balancer, password handling in forward mode and the HTTP
// server's cheap refusals (docs/SECURITY.md), over the in-process cluster in both
// leader modes. Buckets here never refill during a test: nothing depends on its speed.
import { afterEach, describe, expect, test } from '@jest/globals';
import { connect } from 'node:net';
import { request, type RawResponse } from './support/client.js';
import { startInProcessCluster, type InProcessCluster, type InProcessOptions } from './support/in-process.js';

const PASSWORD = 'the owner password';
const HOUR = 3_600_000;

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(mode: 'redirect' | 'forward', opts: InProcessOptions): Promise<InProcessCluster> {
  cluster = await startInProcessCluster(mode, opts);
  return cluster;
}

const from = (address: string) => ({ 'x-forwarded-for': address });
const login = (c: InProcessCluster, username: string, password: string, address: string): Promise<RawResponse> =>
  request(c.followerUrls[0], 'POST', '/v1/auth/login', { body: { username, password }, headers: from(address) });
const register = (c: InProcessCluster, username: string, address: string): Promise<RawResponse> =>
  request(c.followerUrls[0], 'POST', '/v1/auth/register', { body: { username, password: PASSWORD }, headers: from(address) });

for (const mode of ['redirect', 'forward'] as const) {
  describe(`security, in process, ${mode} mode`, () => {
    const throttled: InProcessOptions = {
      trustedProxies: ['127.0.0.1/32'],
      loginLimits: { perUsernameAndAddress: { capacity: 3, refillEveryMs: HOUR } },
      registerLimits: { perAddress: { capacity: 3, refillEveryMs: HOUR } },
    };

    test("a stranger's failed logins behind the load balancer do not lock the owner out", async () => {
      const c = await start(mode, throttled);
      expect((await register(c, 'owner', '198.51.100.1')).status).toBe(201);
      for (let i = 0; i < 3; i++) expect((await login(c, 'owner', 'guess-' + i, '203.0.113.66')).status).toBe(401);
      expect((await login(c, 'owner', 'guess-x', '203.0.113.66')).status).toBe(429);
      expect((await login(c, 'owner', PASSWORD, '203.0.113.66')).status).toBe(429);
      // The owner, at another address (as the load balancer reports it), logs in.
      expect((await login(c, 'owner', PASSWORD, '198.51.100.1')).status).toBe(200);
      // The right-most untrusted entry counts: a made-up entry on the left changes nothing.
      expect((await login(c, 'owner', 'guess-y', '198.51.100.1, 203.0.113.66')).status).toBe(429);
    });

    test('without trusted proxies X-Forwarded-For is ignored (a client cannot pick its address)', async () => {
      const c = await start(mode, { ...throttled, trustedProxies: [] });
      expect((await register(c, 'owner', '198.51.100.1')).status).toBe(201);
      for (let i = 0; i < 3; i++) expect((await login(c, 'owner', 'guess-' + i, `203.0.113.${i}`)).status).toBe(401);
      expect((await login(c, 'owner', PASSWORD, '198.51.100.200')).status).toBe(429);
    });

    test('registration is rate limited per client address', async () => {
      const c = await start(mode, throttled);
      for (let i = 0; i < 3; i++) expect((await register(c, `spam${i}`, '203.0.113.7')).status).toBe(201);
      const limited = await register(c, 'spam3', '203.0.113.7');
      expect(limited.status).toBe(429);
      expect(limited.json.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await register(c, 'someone', '198.51.100.9')).status).toBe(201);
    });
  });
}

describe('forward mode keeps the password on the node it was sent to', () => {
  test('a follower relays the hash of a registration, never the password', async () => {
    const c = await start('forward', {});
    const password = 'plaintext-that-must-stay-here';
    const res = await request(c.followerUrls[0], 'POST', '/v1/auth/register', { body: { username: 'hashed', password } });
    expect(res.status).toBe(201);
    const relayed = c.relayed().map((p) => Buffer.from(p).toString('latin1'));
    expect(relayed.some((p) => p.includes('/v1/auth/register') && p.includes('scrypt$'))).toBe(true);
    expect(relayed.some((p) => p.includes(password))).toBe(false);
    // The hash made on the follower is the one the user logs in with.
    expect((await request(c.leaderUrl, 'POST', '/v1/auth/login', { body: { username: 'hashed', password } })).status).toBe(200);
  });

  test('a client cannot send a password hash itself', async () => {
    const c = await start('forward', {});
    const res = await request(c.leaderUrl, 'POST', '/v1/auth/register', { body: { username: 'forged', passwordHash: 'scrypt$16384$8$1$AAAA$AAAA' } });
    expect(res.status).toBe(400);
  });
});

/** Opens a raw connection; resolves with what the server sent and when it closed. */
function rawConnection(port: number, send: string): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(send));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ data, closedAfterMs: Date.now() - started }));
    setTimeout(() => reject(new Error('connection still open after 10 s')), 10_000).unref();
  });
}

describe('the HTTP server refuses cheaply', () => {
  test('a client that never finishes its headers is answered 408 and cut off', async () => {
    const c = await start('redirect', { headersTimeoutMs: 500 });
    const port = Number(new URL(c.leaderUrl).port);
    const res = await rawConnection(port, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(res.data).toMatch(/^HTTP\/1\.1 408/);
    expect(res.closedAfterMs).toBeLessThan(5_000);
    // A connection that sends nothing at all does not hold its slot either.
    const silent = await rawConnection(port, '');
    expect(silent.data).toMatch(/^HTTP\/1\.1 408/);
    expect(silent.closedAfterMs).toBeLessThan(5_000);
  });

  test('an answer that takes longer than waitMs plus the margin cuts the connection', async () => {
    const c = await start('redirect', { answerMarginMs: 300 });
    const token = (await request(c.leaderUrl, 'POST', '/v1/auth/register', { body: { username: 'u', password: PASSWORD } })).status;
    expect(token).toBe(201);
    const jwt = (await request(c.leaderUrl, 'POST', '/v1/auth/login', { body: { username: 'u', password: PASSWORD } })).json.token as string;
    c.leader.stalled = true; // the commit never comes
    const port = Number(new URL(c.leaderUrl).port);
    const body = JSON.stringify({ name: 'q' });
    const res = await rawConnection(
      port,
      `POST /v1/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${jwt}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(res.data).toBe('');
    expect(res.closedAfterMs).toBeLessThan(5_000);
  });

  test('connections beyond --max-connections are closed at once', async () => {
    const c = await start('redirect', { maxConnections: 2 });
    const port = Number(new URL(c.leaderUrl).port);
    const held = [0, 1].map(() => connect(port, '127.0.0.1'));
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const third = await rawConnection(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(third.data).toBe('');
    for (const s of held) s.destroy();
  });
});
