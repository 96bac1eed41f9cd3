import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

import { BrokerHttpClient } from '../../scripts/chaos/http-client.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function server(handler: Handler): Promise<{ server: Server; url: string }> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return { server: s, url: `http://127.0.0.1:${a.port}` };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

describe('broker http client', () => {
  const servers: Server[] = [];
  const clients: BrokerHttpClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); })));
  });
  const use = (urls: string[]): BrokerHttpClient => {
    const c = new BrokerHttpClient(urls, () => 0);
    clients.push(c);
    return c;
  };

  test('follows a 307 to the leader with method, body, Authorization and Idempotency-Key intact, then remembers it', async () => {
    const seen: { auth?: string; key?: string; body: string; method?: string }[] = [];
    const leader = await server((req, body, res) => {
      seen.push({ auth: req.headers.authorization, key: req.headers['idempotency-key'] as string, body, method: req.method });
      json(res, 201, { id: '42', deduplicated: false });
    });
    let followerHits = 0;
    const follower = await server((req, _body, res) => {
      followerHits++;
      json(res, 307, {}, { location: `${leader.url}${req.url}`, 'x-mom-leader': 'n1' });
    });
    servers.push(leader.server, follower.server);
    const c = use([follower.url]);
    const out = await c.call({ method: 'POST', path: '/v1/queues/q/messages', body: { body: 'hi' }, token: 't0k', idempotencyKey: 'k1', timeoutMs: 2000 });
    expect(out).toEqual({ type: 'ok', status: 201, body: { id: '42', deduplicated: false }, node: leader.url });
    expect(seen).toEqual([{ auth: 'Bearer t0k', key: 'k1', body: '{"body":"hi"}', method: 'POST' }]);
    await c.call({ method: 'POST', path: '/v1/queues/q/messages', body: { body: 'again' }, timeoutMs: 2000 });
    expect(followerHits).toBe(1);
    expect(seen).toHaveLength(2);
  });

  test('4xx is a certain failure, 5xx an unknown outcome with Retry-After', async () => {
    let status = 409;
    const s = await server((_req, _body, res) => json(res, status, { error: { code: status === 409 ? 'conflict' : 'no_leader', message: 'x' } }, { 'retry-after': '1' }));
    servers.push(s.server);
    const c = use([s.url]);
    expect(await c.call({ method: 'POST', path: '/v1/queues', body: {}, timeoutMs: 2000 })).toMatchObject({ type: 'fail', status: 409, error: '409 conflict' });
    status = 503;
    expect(await c.call({ method: 'POST', path: '/v1/queues', body: {}, timeoutMs: 2000 })).toMatchObject({ type: 'info', status: 503, error: '503 no_leader', retryAfterMs: 1000 });
  });

  test('a refused connection is a certain failure; a timeout is unknown', async () => {
    const c = use([`http://127.0.0.1:${await closedPort()}`]);
    expect(await c.call({ method: 'POST', path: '/x', body: {}, timeoutMs: 2000 })).toMatchObject({ type: 'fail', error: 'ECONNREFUSED' });

    const silent = await server(() => undefined); // never answers
    servers.push(silent.server);
    const c2 = use([silent.url]);
    const out = await c2.call({ method: 'POST', path: '/x', body: {}, timeoutMs: 200 });
    expect(out.type).toBe('info');
  });

  test('a redirect loop ends as an unknown outcome', async () => {
    const s = await server((req, _body, res) => json(res, 307, {}, { location: req.url ?? '/' }));
    servers.push(s.server);
    const out = await use([s.url]).call({ method: 'POST', path: '/loop', body: {}, timeoutMs: 2000 });
    expect(out).toMatchObject({ type: 'info', error: 'too many redirects' });
  });
});
