import { connect, createServer, type Server, type Socket } from 'node:net';

import { LinkMesh, LinkProxy } from '../../scripts/chaos/proxy.js';

/** A plain echo server that also remembers what it received. */
async function echoServer(): Promise<{ server: Server; port: number; received: () => string; connections: () => number }> {
  let received = '';
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => { received += d.toString(); s.write(d); });
  });
  server.on('close', () => { for (const s of sockets) s.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { server, port: address.port, received: () => received, connections: () => connections };
}

interface Client { socket: Socket; data: () => string; closed: Promise<void>; waitFor: (text: string) => Promise<void> }

async function client(port: number): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port });
  let data = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (d) => { data += d.toString(); for (const w of waiters.splice(0)) w(); });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const waitFor = async (text: string): Promise<void> => {
    while (!data.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { socket, data: () => data, closed, waitFor };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('link proxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: LinkProxy;
  const clients: Client[] = [];

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await LinkProxy.start({ target: { host: '127.0.0.1', port: echo.port } });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  const open = async (): Promise<Client> => {
    const c = await client(proxy.port);
    clients.push(c);
    return c;
  };

  test('passes bytes both ways when healthy', async () => {
    const c = await open();
    c.socket.write('hello');
    await c.waitFor('hello');
    expect(echo.received()).toBe('hello');
    expect(proxy.stats).toMatchObject({ bytesForward: 5, bytesBackward: 5, droppedForward: 0, droppedBackward: 0 });
  });

  test('cut closes open connections, black-holes new ones, and heal restores the link', async () => {
    const before = await open();
    before.socket.write('one');
    await before.waitFor('one');
    proxy.cut();
    await before.closed;

    const during = await open();
    during.socket.write('lost');
    await until(() => proxy.stats.droppedForward === 4);
    expect(echo.connections()).toBe(1);
    expect(echo.received()).toBe('one');

    proxy.heal();
    await during.closed; // tainted connections are closed on heal
    const after = await open();
    after.socket.write('two');
    await after.waitFor('two');
    expect(echo.received()).toBe('onetwo');
  });

  test('stall holds bytes without losing them; heal lets them through on the same connection', async () => {
    const c = await open();
    c.socket.write('one');
    await c.waitFor('one');
    proxy.stall();
    c.socket.write('held');
    await new Promise((r) => setTimeout(r, 200));
    expect(echo.received()).toBe('one');
    proxy.heal();
    await c.waitFor('held');
    expect(echo.received()).toBe('oneheld');
    expect(echo.connections()).toBe(1);
  });

  test('one-way drop: requests arrive, replies are lost', async () => {
    proxy.setFaults({ backward: 'drop' });
    const c = await open();
    c.socket.write('ping');
    await until(() => proxy.stats.droppedBackward === 4);
    expect(echo.received()).toBe('ping');
    expect(c.data()).toBe('');
  });

  test('one-way drop: requests are lost', async () => {
    proxy.setFaults({ forward: 'drop' });
    const c = await open();
    c.socket.write('ping');
    await until(() => proxy.stats.droppedForward === 4);
    expect(echo.received()).toBe('');
  });

  test('delay holds every chunk at least that long and keeps order', async () => {
    proxy.setFaults({ delayMs: 150 });
    const c = await open();
    const started = Date.now();
    c.socket.write('a');
    c.socket.write('b');
    c.socket.write('c');
    await c.waitFor('abc');
    // 150 ms each way; the lower bound is certain, no upper bound is asserted.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(c.data()).toBe('abc');
  });

  test('reset probability 1 resets the connection on its first chunk', async () => {
    proxy.setFaults({ resetProbability: 1 });
    const c = await open();
    c.socket.write('x');
    await c.closed;
    expect(proxy.stats.resets).toBe(1);
  });
});

describe('link mesh', () => {
  test('isolate and one-way drop act on the right directed links', async () => {
    const servers = await Promise.all([echoServer(), echoServer(), echoServer()]);
    const ports: Record<string, number> = { a: servers[0].port, b: servers[1].port, c: servers[2].port };
    const mesh = await LinkMesh.prepare(3);
    try {
      const addresses = new Set<string>();
      for (const from of ['a', 'b', 'c']) {
        for (const to of ['a', 'b', 'c']) {
          if (from !== to) addresses.add(mesh.peerAddress(from, to, `127.0.0.1:${ports[to]}`));
        }
      }
      expect(addresses.size).toBe(6);
      // Asking again (a restarted node's config) gives the same proxy.
      expect(mesh.peerAddress('a', 'b', `127.0.0.1:${ports.b}`)).toBe(mesh.link('a', 'b').address);
      expect(() => mesh.peerAddress('a', 'd', '127.0.0.1:1')).toThrow(/no proxy left/);
      expect(mesh.nodeIds).toEqual(['a', 'b', 'c']);
      mesh.isolate('a');
      expect(mesh.link('a', 'b').state).toMatchObject({ forward: 'drop', backward: 'drop' });
      expect(mesh.link('c', 'a').state).toMatchObject({ forward: 'drop', backward: 'drop' });
      expect(mesh.link('b', 'c').state).toMatchObject({ forward: 'pass', backward: 'pass' });
      mesh.healAll();
      mesh.dropOneWay('a', 'b');
      expect(mesh.link('a', 'b').state).toMatchObject({ forward: 'drop', backward: 'pass' });
      expect(mesh.link('b', 'a').state).toMatchObject({ forward: 'pass', backward: 'drop' });
      expect(mesh.link('a', 'c').state).toMatchObject({ forward: 'pass', backward: 'pass' });
      mesh.healAll();
      mesh.dropAll('c', 'in');
      expect(mesh.link('a', 'c').state.forward).toBe('drop');
      expect(mesh.link('c', 'b').state).toMatchObject({ forward: 'pass', backward: 'drop' });
      mesh.healAll();

      // Through the mesh, b -> c still echoes.
      const port = mesh.link('b', 'c').port;
      const c = await client(Number(port));
      c.socket.write('hi');
      await c.waitFor('hi');
      c.socket.destroy();
      expect(servers[2].received()).toBe('hi');
    } finally {
      await mesh.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))));
    }
  });
});
