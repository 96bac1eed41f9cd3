// The StreamClient against two in-process API servers sharing one broker, whose nodes
// the test makes leader or follower at will, and whose proposals it can hold: so a
// leader change with requests in flight is staged exactly (some of them applied before
// the change, none confirmed), and the client must resume without a duplicate.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { Registry } from 'prom-client';
import { Broker, encodeCommand } from '../../src/broker/index.js';
import type { ApiNode, NodeStatusView } from '../../src/api/ports.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { NotLeaderError, ProposalOutcomeUnknownError } from '../../src/node/errors.js';
import { StreamClient, StreamRequestError, type Delivery } from '../../src/client/stream.js';
import { MemoryLog } from '../broker/memory-log.js';
import { CLOSE } from '../../src/api/stream/protocol.js';
import { rawRequest } from './support/client.js';
import { RawStream } from './support/raw-stream.js';

interface Held {
  command: Uint8Array;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A node the test steers: leader or not, proposals applied at once or held. */
class SteeredNode implements ApiNode {
  leaderId = 'a';
  hold = false;
  readonly held: Held[] = [];
  /** The most proposals held at once. */
  maxHeld = 0;
  private static index = 0;
  /** The entries applied, from which answers read message bodies (as from a Raft log). */
  private static readonly log = new MemoryLog();
  /** As RaftNode does: a tick entry once a lease or delay fell due (leases expire). */
  private readonly clock = setInterval(() => {
    const due = this.broker.nextDueAt();
    if (this.leading && !this.hold && due !== undefined && due <= Date.now()) this.apply(encodeCommand({ type: 'tick' }));
  }, 20);

  constructor(
    readonly id: string,
    private readonly broker: Broker,
    private readonly urls: Map<string, string>,
  ) {}

  stop(): void {
    clearInterval(this.clock);
  }

  private get leading(): boolean {
    return this.leaderId === this.id;
  }

  apply(command: Uint8Array): unknown {
    const index = ++SteeredNode.index;
    SteeredNode.log.add(index, command);
    return this.broker.answer(this.broker.apply(command, { index, term: 1, time: Date.now() }), SteeredNode.log.read);
  }

  async propose(withHeadroom: Uint8Array, headroom = 0): Promise<unknown> {
    const command = withHeadroom.subarray(headroom);
    if (!this.leading) throw new NotLeaderError(this.leaderId, this.urls.get(this.leaderId) ?? null);
    if (this.hold) {
      return new Promise((resolve, reject) => {
        this.held.push({ command, resolve, reject });
        this.maxHeld = Math.max(this.maxHeld, this.held.length);
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    return this.apply(command);
  }

  async readBarrier(): Promise<void> {}

  storageRefusal(): Error | undefined {
    return undefined;
  }

  leadership() {
    return { role: this.leading ? ('leader' as const) : ('follower' as const), leaderId: this.leaderId, leaderUrl: this.urls.get(this.leaderId) ?? null };
  }

  status(): NodeStatusView {
    return {
      nodeId: this.id,
      role: this.leadership().role,
      term: 1,
      leaderId: this.leaderId,
      leaderUrl: this.urls.get(this.leaderId) ?? null,
      commitIndex: 0,
      appliedIndex: 0,
      nodes: [...this.urls].map(([id, httpUrl]) => ({ id, httpUrl })),
    };
  }

  isReady(): boolean {
    return true;
  }

  async forward(): Promise<Uint8Array> {
    throw new Error('not used');
  }

  setForwardHandler(): void {}
}

const broker = new Broker();
const urls = new Map<string, string>();
const nodes = { a: new SteeredNode('a', broker, urls), b: new SteeredNode('b', broker, urls) };
const servers: ApiServer[] = [];
let token: string;
const clients: StreamClient[] = [];

function lead(id: 'a' | 'b'): void {
  nodes.a.leaderId = id;
  nodes.b.leaderId = id;
}

async function connect(extra: Partial<Parameters<typeof StreamClient.connect>[0]> = {}): Promise<StreamClient> {
  const client = await StreamClient.connect({ urls: [...urls.values()], token, ...extra });
  clients.push(client);
  return client;
}

async function rest(method: string, path: string, body?: unknown) {
  return rawRequest(urls.get(nodes.a.leaderId)!, method, path, { token, body });
}

/** Every message of a queue, received and acked over REST. */
async function drain(queue: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const got = await rest('POST', `/v1/queues/${queue}/receive`, { max: 100 });
    const messages: Array<{ body: string; receiptHandle: string }> = got.json.messages;
    if (messages.length === 0) return bodies;
    bodies.push(...messages.map((m) => m.body));
    await rest('POST', `/v1/queues/${queue}/ack`, { receiptHandles: messages.map((m) => m.receiptHandle) });
  }
}

beforeAll(async () => {
  for (const node of [nodes.a, nodes.b]) {
    const server = await startApiServer({
      config: { nodeId: node.id, clusterId: 'steered', httpListen: '127.0.0.1:0', advertisedHttpUrl: '', jwtSecret: 'steered-secret-0123456789abcdef', jwtTtlMs: 3_600_000, leaderMode: 'redirect' },
      node,
      broker,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
    });
    servers.push(server);
    urls.set(node.id, `http://127.0.0.1:${server.port}`);
  }
  const user = { username: 'client', password: 'client-password' };
  expect((await rest('POST', '/v1/auth/register', user)).status).toBe(201);
  token = (await rest('POST', '/v1/auth/login', user)).json.token;
  for (const name of ['c-basic', 'c-resume', 'c-consume', 'c-redeliver', 'c-ack', 'c-producer', 'c-state']) expect((await rest('POST', '/v1/queues', { name })).status).toBe(201);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close(0);
  lead('a');
  nodes.a.hold = false;
});

afterAll(async () => {
  nodes.a.stop();
  nodes.b.stop();
  await Promise.all(servers.map((s) => s.close()));
});

describe('StreamClient', () => {
  test('finds the leader through a follower, sends one and many, and reports errors typed', async () => {
    const client = await StreamClient.connect({ urls: [urls.get('b')!], token });
    clients.push(client);
    expect(client.node).toBe('a');
    const one = await client.send('c-basic', { body: 'one' });
    expect(one).toMatchObject({ deduplicated: false });
    const many = await client.send('c-basic', [{ body: 'two' }, { body: 'three' }]);
    expect(many).toHaveLength(2);
    const err = await client.send('no-such-queue', { body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamRequestError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
    expect((await drain('c-basic')).sort()).toEqual(['one', 'three', 'two']);
  });

  test('a leader change with sends in flight: resumed on the new leader, each message stored once', async () => {
    const client = await connect({ maxUnconfirmed: 64 });
    nodes.a.hold = true;
    const bodies = Array.from({ length: 40 }, (_, i) => `r-${i}`);
    const confirms = bodies.map((body) => client.send('c-resume', { body }));
    // Wait until the leader holds every proposal (coalesced into batch commands).
    while (nodes.a.held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    // Half of what is held commits; leadership moves before any of it is confirmed.
    const held = nodes.a.held.splice(0);
    const applied = held.slice(0, Math.ceil(held.length / 2));
    for (const h of applied) nodes.a.apply(h.command);
    lead('b');
    for (const h of held) h.reject(new ProposalOutcomeUnknownError());
    const sent = await Promise.all(confirms);
    expect(client.node).toBe('b');
    expect(client.reconnects).toBeGreaterThanOrEqual(1);
    expect(sent.some((s) => s.deduplicated)).toBe(true); // some were applied before the change
    const stored = await drain('c-resume');
    expect(stored.sort()).toEqual([...bodies].sort());
    // Each confirm names the id the stored message has.
    expect(new Set(sent.map((s) => s.id)).size).toBe(bodies.length);
  });

  test('producer sequences (the default): sends applied before a reconnect are answered after their resend with their first ids, from the window', async () => {
    const client = await connect({ maxUnconfirmed: 64 });
    nodes.a.hold = true;
    const singles = Array.from({ length: 12 }, (_, i) => client.send('c-producer', { body: `p-${i}` }));
    const batch = client.send('c-producer', [{ body: 'p-b1' }, { body: 'p-b2' }]);
    while (nodes.a.held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    // Every held command is applied, none is confirmed: the client must resend all.
    const held = nodes.a.held.splice(0);
    const firstIds: string[] = [];
    let merged = 0;
    for (const h of held) {
      const r = nodes.a.apply(h.command) as { ok: boolean; value: { id?: string; messages?: Array<{ id: string }>; frames?: Array<{ messages: Array<{ id: string }> }> } };
      expect(r.ok).toBe(true);
      const v = r.value;
      if (v.frames) merged++;
      if (v.frames) for (const f of v.frames) firstIds.push(...f.messages.map((m) => m.id));
      else if (v.messages) firstIds.push(...v.messages.map((m) => m.id));
      else firstIds.push(v.id!);
    }
    expect(merged).toBeGreaterThan(0); // frames of one turn were merged, with their sequences
    lead('b');
    for (const h of held) h.reject(new ProposalOutcomeUnknownError());
    const sent = [...(await Promise.all(singles)), ...(await batch)];
    expect(client.reconnects).toBeGreaterThanOrEqual(1);
    // Each answer is the first one: same ids, marked deduplicated; nothing stored twice.
    expect(sent.every((s) => s.deduplicated)).toBe(true);
    expect(sent.map((s) => s.id).sort()).toEqual(firstIds.sort());
    expect((await drain('c-producer')).sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `p-${i}`), 'p-b1', 'p-b2'].sort());
    // One producer for the client's lifetime, no deduplication ids: memory is its window.
    expect(broker.producerCount('client')).toBeGreaterThanOrEqual(1);
    const again = await client.send('c-producer', { body: 'after' });
    expect(again.deduplicated).toBe(false);
  });

  test('consume as an async iterator: prefetch bounds what is unacked, acks let more in', async () => {
    const client = await connect();
    const bodies = Array.from({ length: 30 }, (_, i) => ({ body: `m-${i}` }));
    await client.send('c-consume', bodies);
    const consumer = client.consume({ queue: 'c-consume' }, { prefetch: 4 });
    await consumer.started;
    const got: string[] = [];
    const acks: Array<Promise<boolean>> = [];
    for await (const d of consumer) {
      got.push(d.body);
      acks.push(d.ack());
      if (got.length === 30) break;
    }
    expect(await Promise.all(acks)).toEqual(Array(30).fill(true));
    expect(got).toEqual(bodies.map((b) => b.body));
    expect((await rest('GET', '/v1/queues/c-consume')).json.stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  test('debugState says what the client waits for: unanswered requests, and credit held until acks are answered', async () => {
    const client = await connect({ maxUnconfirmed: 8 });
    await client.send('c-state', Array.from({ length: 6 }, (_, i) => ({ body: `s-${i}` })));
    const consumer = client.consume({ queue: 'c-state' }, { prefetch: 4 });
    const got: Delivery[] = [];
    for await (const d of consumer) {
      got.push(d);
      if (got.length === 4) break;
    }
    const held = client.debugState().consumers;
    expect(held).toEqual([]); // leaving the loop cancelled it
    const second = client.consume({ queue: 'c-state' }, { prefetch: 2 });
    const iterator = second[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as Delivery;
    while (client.debugState().consumers[0]?.buffered !== 1) await new Promise((r) => setTimeout(r, 5));
    expect(client.debugState().consumers).toEqual([expect.objectContaining({
      id: second.id, target: { queue: 'c-state' }, prefetch: 2, started: true, ended: false, delivered: 2, settled: 0, buffered: 1,
    })]);
    await first.ack();
    expect(client.debugState().consumers[0]).toMatchObject({ delivered: 2, settled: 1 });
    await second.cancel();
    await Promise.all(got.map((d) => d.ack()));

    nodes.a.hold = true;
    const sends = [client.send('c-state', { body: 'h-0' }), client.send('c-state', { body: 'h-1' })];
    while (nodes.a.held.length === 0) await new Promise((r) => setTimeout(r, 5)); // both in one batch entry
    const state = client.debugState();
    expect(state).toMatchObject({ node: 'a', socket: 'open', live: true, reconnecting: false, pending: 2, unconfirmed: 2, maxUnconfirmed: 8, waitingForRoom: 0 });
    expect(state.oldestPending).toMatchObject({ op: 'send' });
    expect(state.msSinceFrameOut).toBeGreaterThanOrEqual(0);
    nodes.a.hold = false;
    for (const h of nodes.a.held.splice(0)) h.resolve(nodes.a.apply(h.command));
    await Promise.all(sends);
    expect(client.debugState()).toMatchObject({ pending: 0, unconfirmed: 0 });
  });

  test('a consumer resumes on the new leader; what the old stream leased comes back after its lease', async () => {
    const client = await connect();
    await client.send('c-redeliver', [{ body: 'x1' }, { body: 'x2' }]);
    const consumer = client.consume({ queue: 'c-redeliver' }, { prefetch: 10, visibilityTimeoutMs: 300 });
    const it = consumer[Symbol.asyncIterator]();
    const first: Delivery[] = [(await it.next()).value, (await it.next()).value];
    expect(first.map((d) => d.body)).toEqual(['x1', 'x2']);
    // Leadership moves; the deliveries are not acked: their leases run out, and the
    // consumer, now on b, gets them again.
    lead('b');
    const again: Delivery[] = [(await it.next()).value, (await it.next()).value];
    expect(again.map((d) => [d.body, d.receiveCount])).toEqual([['x1', 2], ['x2', 2]]);
    expect(client.node).toBe('b');
    expect(await Promise.all(again.map((d) => d.ack()))).toEqual([true, true]);
    expect(await first[0].ack()).toBe(false); // its lease ended: a stale handle
  });

  test('an ack applied just before a leader change still answers acked after its resend', async () => {
    const client = await connect();
    await client.send('c-ack', { body: 'ack me' });
    const it = client.consume({ queue: 'c-ack' }, { prefetch: 1 })[Symbol.asyncIterator]();
    const d: Delivery = (await it.next()).value;
    nodes.a.hold = true;
    const acked = d.ack();
    while (nodes.a.held.length === 0) await new Promise((r) => setTimeout(r, 5));
    const [held] = nodes.a.held.splice(0);
    nodes.a.apply(held.command);
    lead('b');
    held.reject(new ProposalOutcomeUnknownError());
    expect(await acked).toBe(true);
    expect(client.node).toBe('b');
    expect((await rest('GET', '/v1/queues/c-ack')).json.stats).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  test('a stream that goes silent (no frames, no pongs) is dropped and its requests resent elsewhere', async () => {
    // A node that accepts the stream, says ready, then hangs; later connections are cut.
    const hung = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
    let accepted = 0;
    hung.on('connection', (ws) => {
      if (accepted++ > 0) {
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify({ op: 'ready', user: 'client', node: 'hung', expiresAt: new Date(Date.now() + 60_000).toISOString(), limits: {} }));
    });
    await new Promise((resolve) => hung.once('listening', resolve));
    try {
      const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const client = await StreamClient.connect({ urls: [hungUrl, urls.get('a')!], token, heartbeatMs: 400 });
      clients.push(client);
      expect(client.node).toBe('hung');
      const sent = await client.send('c-basic', { body: 'after the silence' });
      expect(sent).toMatchObject({ deduplicated: false });
      expect(client.node).toBe('a');
      expect(client.reconnects).toBe(1);
      expect(await drain('c-basic')).toEqual(['after the silence']);
    } finally {
      for (const ws of hung.clients) ws.terminate();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  test('a reconnect that lands on a node closing the stream right after its ready (same read) goes on to another node', async () => {
    // Redirect mode: a node that stops leading just as it accepted a stream sends `ready`
    // and then closes 4503; both can arrive in one read, so the client sees the socket
    // closing as soon as it has the ready. It must go on reconnecting, not sit there.
    const flap = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const ready = JSON.stringify({ op: 'ready', user: 'client', node: 'flap', expiresAt: new Date(Date.now() + 60_000).toISOString(), limits: {} });
    const streams: Array<import('ws').WebSocket> = [];
    flap.on('connection', (ws, req) => {
      streams.push(ws);
      if (streams.length === 1) ws.send(ready); // the first stream stays, until the test closes it
      else if (streams.length === 2) {
        req.socket.cork(); // the ready and the close frame in one write
        ws.send(ready);
        ws.close(CLOSE.leaderChanged, '');
        process.nextTick(() => req.socket.uncork());
      } else ws.terminate();
    });
    await new Promise((resolve) => flap.once('listening', resolve));
    try {
      const flapUrl = `http://127.0.0.1:${(flap.address() as AddressInfo).port}`;
      const client = await StreamClient.connect({ urls: [flapUrl, urls.get('a')!], token });
      clients.push(client);
      expect(client.node).toBe('flap');
      const sent = client.send('c-basic', { body: 'after the flap' });
      streams[0].close(CLOSE.leaderChanged, ''); // reconnects: to the flapping node first
      const stuck = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error(`no answer in 5 s: ${JSON.stringify(client.debugState())}`)), 5_000).unref();
      });
      expect(await Promise.race([sent, stuck])).toMatchObject({ deduplicated: false });
      expect(streams.length).toBeGreaterThanOrEqual(2);
      expect(client.node).toBe('a');
      expect(await drain('c-basic')).toEqual(['after the flap']);
    } finally {
      for (const ws of flap.clients) ws.terminate();
      await new Promise((resolve) => flap.close(resolve));
    }
  });

  test('a stream that closes right after its ready (a node going down) is opened again', async () => {
    // The first connection says ready and closes in the same breath (both frames reach
    // the client in one read); later ones are cut, so the client goes on to a.
    const flaky = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    let accepted = 0;
    flaky.on('connection', (ws) => {
      if (accepted++ > 0) {
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify({ op: 'ready', user: 'client', node: 'flaky', expiresAt: new Date(Date.now() + 60_000).toISOString(), limits: {} }));
      ws.close(CLOSE.goingAway);
    });
    await new Promise((resolve) => flaky.once('listening', resolve));
    try {
      const client = await StreamClient.connect({ urls: [`http://127.0.0.1:${(flaky.address() as AddressInfo).port}`, urls.get('a')!], token });
      clients.push(client);
      const sent = await client.send('c-basic', { body: 'after the flaky node' });
      expect(sent.deduplicated).toBe(false);
      expect(client.node).toBe('a');
      expect(await drain('c-basic')).toEqual(['after the flaky node']);
    } finally {
      for (const ws of flaky.clients) ws.terminate();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  test('a producer never has frames out a window or more past its oldest unanswered one', async () => {
    // A server that answers every send at once but the first (sequence 0), until told.
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const seqs: number[] = [];
    let releaseFirst: (() => void) | undefined;
    server.on('connection', (ws) => {
      ws.send(JSON.stringify({ op: 'ready', user: 'client', node: 'fake', expiresAt: new Date(Date.now() + 60_000).toISOString(), limits: {} }));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { id: number; seq: number };
        seqs.push(frame.seq);
        const ok = () => ws.send(JSON.stringify({ op: 'ok', id: frame.id, status: 201, body: { id: `x-${frame.seq}`, deduplicated: false } }));
        if (frame.seq === 0) releaseFirst = ok;
        else ok();
      });
    });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const client = await StreamClient.connect({ urls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], token, maxUnconfirmed: 64 });
      clients.push(client);
      const sends = Array.from({ length: 1100 }, (_, i) => client.send('q', { body: `b${i}` }));
      while (seqs.length < 1024) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 100));
      // Sequences 0..1023 went out; 1024 waits for 0's answer, though only 1 is unanswered.
      expect(Math.max(...seqs)).toBe(1023);
      releaseFirst!();
      await Promise.all(sends);
      expect(seqs.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 1100 }, (_, i) => i));
      expect(new Set(seqs).size).toBe(1100);
    } finally {
      for (const ws of server.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a refused consumer rejects its iterator with the REST error', async () => {
    const client = await connect();
    const consumer = client.consume({ queue: 'missing-queue' });
    await expect(consumer.started).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('the server side of flow control and leader changes', () => {
  test('redirect mode: a node that stops leading closes its streams 4503 naming the new leader', async () => {
    const s = await RawStream.open(urls.get('a')!, token);
    await s.next((f) => f.op === 'ready');
    lead('b');
    expect(await s.waitClosed()).toEqual({ code: CLOSE.leaderChanged, reason: urls.get('b') });
  });

  test('at most maxUnconfirmed requests in flight: the server stops reading, and serves the rest as answers come', async () => {
    const own = new Map<string, string>();
    const node = new SteeredNode('c', broker, own);
    node.leaderId = 'c';
    const server = await startApiServer({
      config: { nodeId: 'c', clusterId: 'steered', httpListen: '127.0.0.1:0', advertisedHttpUrl: '', jwtSecret: 'steered-secret-0123456789abcdef', jwtTtlMs: 3_600_000, leaderMode: 'redirect' },
      node,
      broker,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      stream: { maxUnconfirmed: 4 },
    });
    own.set('c', `http://127.0.0.1:${server.port}`);
    try {
      node.hold = true;
      const s = await RawStream.open(own.get('c')!, token);
      await s.next((f) => f.op === 'ready');
      // Keyed: one proposal per frame. All 20 are written at once.
      for (let i = 0; i < 20; i++) s.send({ op: 'send', id: i, queue: 'c-basic', idempotencyKey: `flow-${i}`, message: { body: `f-${i}` } });
      while (node.held.length < 4) await new Promise((r) => setTimeout(r, 5));
      // Release one at a time: each answer lets exactly one more request in.
      for (let answered = 0; answered < 20; answered++) {
        while (node.held.length === 0) await new Promise((r) => setTimeout(r, 5));
        const h = node.held.shift()!;
        h.resolve(node.apply(h.command));
        await s.answer(answered);
      }
      expect(node.maxHeld).toBe(4);
      s.close();
    } finally {
      node.stop();
      await server.close();
    }
    expect((await drain('c-basic')).length).toBe(20);
  });

  test('a client that stops reading: deliveries stop at maxBufferedBytes, not at the prefetch', async () => {
    const own = new Map<string, string>();
    const node = new SteeredNode('d', broker, own);
    node.leaderId = 'd';
    const server = await startApiServer({
      config: { nodeId: 'd', clusterId: 'steered', httpListen: '127.0.0.1:0', advertisedHttpUrl: '', jwtSecret: 'steered-secret-0123456789abcdef', jwtTtlMs: 3_600_000, leaderMode: 'redirect' },
      node,
      broker,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      stream: { maxBufferedBytes: 64 * 1024, maxPrefetch: 100_000 },
    });
    own.set('d', `http://127.0.0.1:${server.port}`);
    expect((await rest('POST', '/v1/queues', { name: 'c-slow' })).status).toBe(201);
    // 4,000 messages of 16 KiB: 64 MB, far more than loopback socket buffers hold.
    const body = 'z'.repeat(16 * 1024);
    for (let i = 0; i < 40; i++) {
      expect((await rest('POST', '/v1/queues/c-slow/messages', { messages: Array.from({ length: 50 }, () => ({ body })) })).status).toBe(201);
      expect((await rest('POST', '/v1/queues/c-slow/messages', { messages: Array.from({ length: 50 }, () => ({ body })) })).status).toBe(201);
    }
    try {
      const s = await RawStream.open(own.get('d')!, token);
      await s.next((f) => f.op === 'ready');
      s.send({ op: 'consume', id: 'slow', queue: 'c-slow', prefetch: 4_000 });
      await s.answer('slow');
      // Stop reading: the kernel buffers fill, then the server's own send buffer.
      s.ws.pause();
      const leased = async () => (await rest('GET', '/v1/queues/c-slow')).json.stats.inflight as number;
      let before = -1;
      let now = await leased();
      while (now !== before) {
        await new Promise((r) => setTimeout(r, 300));
        before = now;
        now = await leased();
      }
      expect(now).toBeLessThan(4_000);
      // Reading again: the rest comes.
      s.ws.resume();
      await s.waitDelivered('slow', 4_000, 30_000);
      s.close();
    } finally {
      node.stop();
      await server.close();
    }
  }, 60_000);
});
