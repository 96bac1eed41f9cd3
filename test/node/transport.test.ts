import type { Message } from '../../src/raft/types.js';
import { message } from '../../src/raft/util.js';
import { silentLogger } from '../../src/node/logger.js';
import { ForwardError, ListenError } from '../../src/node/errors.js';
import { Transport, type TransportOptions } from '../../src/node/transport/transport.js';
import { PROTO_PATH, RaftGrpcService, RaftServiceDefinition, WireFormatError, decodeBatch, encodeBatch, encodeBatchParts } from '../../src/node/transport/wire.js';
import { GatheredFrame } from '../../src/node/transport/gathered-frame.js';
import { RAFT_RECEIVE_WINDOW_BYTES } from '../../src/node/transport/flow-window.js';
import http2 from 'node:http2';
import { PeerGuard, isRefused, peekCredentials } from '../../src/node/transport/peer-guard.js';
import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { decodeRecords, encodeRecords, knownRecord, offerRecordRoom, recordRuns, recordsOf } from '../../src/node/storage/entry-records.js';
import { COMMAND_HEADROOM, decodeEnvelope, encodeEnvelope } from '../../src/node/envelope.js';
import { encodeCommand } from '../../src/broker/commands.js';
import protobuf from 'protobufjs';
import { freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { makeTlsFiles } from '../support/tls-certs.js';
import { LinkProxy } from '../../scripts/chaos/proxy.js';

const T = 30_000;

interface Node {
  transport: Transport;
  received: Message[];
  unreachable: string[];
}

async function startPair(overrides: Partial<Record<'a' | 'b', Partial<TransportOptions>>> = {}): Promise<Record<'a' | 'b', Node>> {
  const ports = { a: await freePort(), b: await freePort() };
  const peers = [
    { id: 'a', grpcAddress: `127.0.0.1:${ports.a}` },
    { id: 'b', grpcAddress: `127.0.0.1:${ports.b}` },
  ];
  const start = async (id: 'a' | 'b'): Promise<Node> => {
    const node: Node = { received: [], unreachable: [], transport: undefined as unknown as Transport };
    node.transport = await Transport.start({
      nodeId: id,
      clusterId: 'c1',
      clusterToken: 'token-c1-secret',
      listen: `127.0.0.1:${ports[id]}`,
      peers,
      logger: silentLogger(),
      onMessages: (msgs) => node.received.push(...msgs),
      onUnreachable: (peer) => node.unreachable.push(peer),
      ...overrides[id],
    });
    return node;
  };
  return { a: await start('a'), b: await start('b') };
}

/** Sends probes until one arrives: the link is up (messages sent before may be lost, as Raft allows). */
async function connected(from: Node, to: Node, toId: string): Promise<void> {
  const fromId = toId === 'b' ? 'a' : 'b';
  await waitFor(
    async () => {
      from.transport.send([message('heartbeat', fromId, toId, 1, { commit: 999_999 })]);
      return to.received.some((m) => m.commit === 999_999) ? true : undefined;
    },
    15_000,
    () => 'link never came up',
    100,
  );
  to.received.length = 0;
  from.unreachable.length = 0;
}

function append(i: number, bytes = 16): Message {
  return message('append', 'a', 'b', 3, {
    index: i,
    logTerm: 2,
    commit: i,
    entries: [{ index: i + 1, term: 3, type: 'normal', data: new Uint8Array(bytes).fill(i % 256) }],
  });
}

describe('gRPC transport', () => {
  test('messages round-trip through proto/raft.proto unchanged', () => {
    const msgs: Message[] = [
      append(7),
      message('voteResp', 'a', 'b', 4, { reject: true }),
      message('appendResp', 'a', 'b', 4, { reject: true, rejectHint: 9, hintTerm: 2, index: 12 }),
      message('heartbeat', 'a', 'b', 4, { commit: 5, context: Uint8Array.of(1, 2, 3) }),
      message('snapshot', 'a', 'b', 4, {
        snapshot: { meta: { index: 40, term: 3, conf: { voters: ['a', 'b'] } }, offset: 10, totalBytes: 30, data: Uint8Array.of(9, 9), done: false },
      }),
      message('timeoutNow', 'a', 'b', 4),
    ];
    const back = decodeBatch(encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: msgs }));
    const norm = (v: unknown): unknown =>
      v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;
    expect(norm(back.messages)).toEqual(norm(msgs));
  });

  test('entries sent as records arrive equal, carrying the very bytes the sender encoded', () => {
    const msgs: Message[] = [append(7), append(8, 3000), message('heartbeat', 'a', 'b', 4, { commit: 5 })];
    encodeRecords(msgs[0].entries); // as the leader does with a Ready's new entries
    const frame = encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: msgs, entriesAsRecords: true });
    const back = decodeBatch(frame);
    const norm = (v: unknown): unknown =>
      v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;
    expect(norm(back.messages)).toEqual(norm(msgs));
    expect(back.acceptsEntryRecords).toBe(true);
    // The receiver writes the received bytes: a view into the frame, equal to what was sent.
    const received = recordsOf(back.messages[0].entries);
    expect(received.buffer).toBe(frame.buffer);
    expect(Buffer.from(received).equals(Buffer.from(knownRecord(msgs[0].entries[0])!))).toBe(true);
  });

  test('a big frame reaches grpc-js as a view of the encoded bytes, not a copy (nice-grpc wraps the serializer in Buffer.from)', () => {
    const serialize = RaftServiceDefinition.send.requestSerialize;
    const big = { clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(7, 100_000)], entriesAsRecords: true };
    const out = serialize(big) as unknown;
    expect(out).toBeInstanceOf(ArrayBuffer);
    const frame = Buffer.from(out as ArrayBuffer);
    expect(frame.buffer).toBe(out);
    expect(frame.equals(Buffer.from(encodeBatch(big)))).toBe(true);
    expect(Buffer.from(decodeBatch(frame).messages[0].entries[0].data).equals(Buffer.from(big.messages[0].entries[0].data))).toBe(true);
    // A small frame lies in Buffer's shared pool: it is handed over as bytes (and copied).
    const small = { clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(7)] };
    const smallOut = serialize(small) as unknown;
    expect(smallOut).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(smallOut as Uint8Array).equals(Buffer.from(encodeBatch(small)))).toBe(true);
  });

  test("an append frame for the Raft stream is handed to grpc-js in parts: its records are not copied into a frame of their own", () => {
    const norm = (v: unknown): unknown =>
      v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;
    // Two messages whose entries lie in one buffer of records (a Ready's), one whose
    // entry has no record yet, one without entries, and a batch-level flag.
    const big = append(7, 100_000);
    const two = message('append', 'a', 'b', 3, { index: 8, logTerm: 3, commit: 7, entries: [9, 10].map((index) => ({ index, term: 3, type: 'normal' as const, data: new Uint8Array(300 * index).fill(index) })) });
    const records = encodeRecords([...big.entries, ...two.entries]);
    const batch = { clusterId: 'c', clusterToken: 't', from: 'a', messages: [big, message('heartbeat', 'a', 'b', 4, { commit: 5 }), two, append(11, 40)], entriesAsRecords: true, acceptsEntryRecords: true };
    const parts = encodeBatchParts(batch)!;
    // The records are parts of their own: views of the buffer the leader encoded them into.
    const recordParts = parts.filter((p) => p.buffer === records.buffer);
    expect(recordParts.map((p) => p.length)).toEqual([knownRecord(big.entries[0])!.length, knownRecord(two.entries[0])!.length + knownRecord(two.entries[1])!.length]);
    const serialized = RaftGrpcService.send.requestSerialize(batch) as unknown;
    expect(serialized).toBeInstanceOf(GatheredFrame);
    const whole = (serialized as GatheredFrame).toBuffer();
    expect(whole.length).toBe(encodeBatch(batch).length);
    const back = decodeBatch(whole);
    expect(norm(back)).toEqual(norm(decodeBatch(encodeBatch(batch))));
    expect(norm(back.messages)).toEqual(norm(batch.messages));
    // What the receiver's guard reads of it.
    expect(peekCredentials(whole)).toEqual({ clusterId: 'c', clusterToken: 't', from: 'a' });
    // Without records (a peer of an earlier build, or no entries) it is one buffer, as before.
    expect(encodeBatchParts({ ...batch, entriesAsRecords: false })).toBeUndefined();
    expect(encodeBatchParts({ ...batch, messages: [message('heartbeat', 'a', 'b', 4)] })).toBeUndefined();
    expect(RaftGrpcService.send.requestSerialize({ ...batch, entriesAsRecords: false })).toBeInstanceOf(Buffer);
  });

  test("a gathered frame copies like Buffer#copy: any range, cut at the target's end", () => {
    const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
    const frame = new GatheredFrame([bytes.subarray(0, 7), bytes.subarray(7, 7), bytes.subarray(7, 30), bytes.subarray(30)]);
    expect(frame.length).toBe(40);
    expect(frame.toBuffer().equals(bytes)).toBe(true);
    for (const [targetStart, start, end, size] of [[5, 0, 40, 45], [0, 3, 33, 40], [2, 6, 8, 10], [0, 0, 40, 12], [10, 29, 31, 40], [0, 12, 12, 4]]) {
      const target = Buffer.alloc(size, 0xff);
      const expected = Buffer.alloc(size, 0xff);
      const n = frame.copy(target, targetStart, start, end);
      expect(n).toBe(bytes.copy(expected, targetStart, start, end));
      expect(target.equals(expected)).toBe(true);
    }
  });

  test('a record damaged on the way is refused, never taken as an entry', () => {
    const frame = encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(7, 64)], entriesAsRecords: true });
    frame[frame.length - 10] ^= 0x20; // inside the entry's data
    expect(() => decodeBatch(frame)).toThrow(WireFormatError);
  });

  test('without the flag entries go field by field, as builds before records read them', () => {
    const frame = encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(7)] });
    const root = protobuf.loadSync(PROTO_PATH);
    const d = root.lookupType('mom.raft.v1.MessageBatch').decode(frame) as unknown as { messages: { entries: unknown[]; entryRecords: Uint8Array }[] };
    expect(d.messages[0].entries).toHaveLength(1);
    expect(d.messages[0].entryRecords.length).toBe(0);
  });

  test('records go to a peer only after its own frames said it reads them', async () => {
    const { a, b } = await startPair();
    try {
      await connected(a, b, 'b');
      a.transport.send([append(1)]);
      await waitFor(async () => (b.received.some((m) => m.type === 'append') ? true : undefined), 10_000, () => 'no append');
      expect(knownRecord(b.received.find((m) => m.type === 'append')!.entries[0])).toBeUndefined(); // field by field
      await connected(b, a, 'a'); // b speaks: a learns that b reads records
      b.received.length = 0;
      a.transport.send([append(2)]);
      await waitFor(async () => (b.received.some((m) => m.type === 'append') ? true : undefined), 10_000, () => 'no append');
      expect(knownRecord(b.received.find((m) => m.type === 'append')!.entries[0])).toBeDefined(); // as records
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('big appends sent as records go through grpc-js (handed to it in parts) and arrive equal', async () => {
    const { a, b } = await startPair();
    try {
      await connected(a, b, 'b');
      await connected(b, a, 'a'); // b speaks: a learns that b reads records
      b.received.length = 0;
      const sent = [append(20, 100_000), append(21, 3_000), append(22, 70_000)];
      encodeRecords(sent.flatMap((m) => m.entries));
      a.transport.send(sent);
      const appends = () => b.received.filter((m) => m.type === 'append');
      await waitFor(async () => (appends().length === 3 ? true : undefined), 10_000, () => `got ${appends().length}`);
      appends().forEach((m, i) => {
        expect(knownRecord(m.entries[0])).toBeDefined(); // as records
        expect(m.index).toBe(sent[i].index);
        expect(Buffer.from(m.entries[0].data).equals(Buffer.from(sent[i].entries[0].data))).toBe(true);
      });
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('delivers messages to the peer, in order, batched into frames', async () => {
    const { a, b } = await startPair();
    try {
      await connected(a, b, 'b');
      for (let i = 0; i < 500; i++) a.transport.send([append(i)]);
      const appends = () => b.received.filter((m) => m.type === 'append');
      await waitFor(async () => (appends().length === 500 ? true : undefined), 10_000, () => `got ${appends().length}`);
      expect(appends().map((m) => m.index)).toEqual([...Array(500).keys()]);
      expect(appends()[3].entries[0].data[0]).toBe(3);
      expect(a.unreachable).toEqual([]);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('a send is written to the stream in the same turn, not on a later one', async () => {
    const { a, b } = await startPair();
    try {
      await connected(a, b, 'b');
      await new Promise((r) => setTimeout(r, 5));
      const before = Date.now();
      expect(a.transport.lastSentMs('b')).toBeLessThan(before);
      a.transport.send([append(1)]);
      // One microtask later (still this turn, before any I/O or timer), the frame was
      // handed to grpc-js.
      await Promise.resolve();
      expect(a.transport.lastSentMs('b')).toBeGreaterThanOrEqual(before);
      await waitFor(async () => (b.received.some((m) => m.type === 'append') ? true : undefined), 10_000, () => 'no append');
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('messages sent in one task share a frame; sent while it is on its way, they go together in the next', async () => {
    const frames: number[] = [];
    const { a, b } = await startPair({ b: { onMessages: (msgs) => frames.push(msgs.length) } });
    try {
      await waitFor(
        async () => {
          a.transport.send([message('heartbeat', 'a', 'b', 1)]);
          return frames.length > 0 ? true : undefined;
        },
        15_000,
        () => 'link never came up',
        100,
      );
      await new Promise((r) => setTimeout(r, 50)); // the last probe's frame has left
      frames.length = 0;
      // Sends of one task share a frame. The next ones, each in a task of its own but
      // all before that frame has left (microtasks of the same turn), wait for it and
      // then go together, not as a frame each.
      for (let i = 0; i < 10; i++) a.transport.send([append(i)]);
      for (let i = 10; i < 300; i++) {
        await Promise.resolve();
        a.transport.send([append(i)]);
      }
      await waitFor(async () => (frames.reduce((x, y) => x + y, 0) === 300 ? true : undefined), 10_000, () => `got ${frames.join('+')}`);
      expect(frames).toEqual([10, 290]);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('refuses a peer with the wrong cluster token', async () => {
    const { a, b } = await startPair({ a: { clusterToken: 'wrong-token-xx' } });
    try {
      for (let i = 0; i < 5; i++) a.transport.send([append(i)]);
      await waitFor(async () => (a.unreachable.includes('b') ? true : undefined), 10_000, () => 'no unreachable report');
      expect(b.received).toEqual([]);
      await expect(a.transport.forward('b', Uint8Array.of(1), 2000)).rejects.toThrow(/wrong cluster id/);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('forward reaches the peer handler and returns its answer', async () => {
    const { a, b } = await startPair();
    try {
      await expect(a.transport.forward('b', Uint8Array.of(1), 2000)).rejects.toThrow(ForwardError);
      b.transport.setForwardHandler(async (p) => Uint8Array.from([...p, 42]));
      expect([...(await a.transport.forward('b', Uint8Array.of(7), 2000))]).toEqual([7, 42]);
      b.transport.setForwardHandler(() => new Promise(() => {}));
      await expect(a.transport.forward('b', Uint8Array.of(7), 200)).rejects.toThrow(/timed out|deadline|abort/i);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('a down peer costs only dropped messages, and is reached again once it is up', async () => {
    const { a, b } = await startPair();
    const bListen = `127.0.0.1:${b.transport.port}`;
    await b.transport.close();
    try {
      for (let i = 0; i < 50; i++) a.transport.send([append(i)]);
      await waitFor(async () => (a.unreachable.length > 0 ? true : undefined), 10_000, () => 'no unreachable report');
      // The peer comes back on the same address: the link reconnects by itself.
      const received: Message[] = [];
      const b2 = await Transport.start({
        nodeId: 'b',
        clusterId: 'c1',
        clusterToken: 'token-c1-secret',
        listen: bListen,
        peers: [{ id: 'a', grpcAddress: '127.0.0.1:1' }, { id: 'b', grpcAddress: bListen }],
        logger: silentLogger(),
        onMessages: (msgs) => received.push(...msgs),
        onUnreachable: () => {},
      });
      try {
        await waitFor(
          async () => {
            a.transport.send([append(1000)]);
            return received.some((m) => m.index === 1000) ? true : undefined;
          },
          15_000,
          () => 'never reconnected',
          100,
        );
      } finally {
        await b2.close();
      }
    } finally {
      await a.transport.close();
    }
  }, T);

  test('a stuck peer fills only its own queue; the others keep receiving', async () => {
    const ports = { a: await freePort(), b: await freePort(), c: await freePort() };
    const proxy = await LinkProxy.start({ target: { host: '127.0.0.1', port: ports.b } }); // a -> b goes through it
    const got = { b: [] as Message[], c: [] as Message[] };
    const unreachable: string[] = [];
    const common = { clusterId: 'c1', clusterToken: 'token-c1-secret', logger: silentLogger(), onUnreachable: () => {} };
    const a = await Transport.start({
      ...common,
      nodeId: 'a',
      listen: `127.0.0.1:${ports.a}`,
      peers: [
        { id: 'b', grpcAddress: proxy.address },
        { id: 'c', grpcAddress: `127.0.0.1:${ports.c}` },
      ],
      maxQueuedMessages: 64,
      onMessages: () => {},
      onUnreachable: (p) => unreachable.push(p),
    });
    const peersOf = (self: string) => [{ id: 'a', grpcAddress: `127.0.0.1:${ports.a}` }, { id: self, grpcAddress: `127.0.0.1:${ports[self as 'b' | 'c']}` }];
    const b = await Transport.start({ ...common, nodeId: 'b', listen: `127.0.0.1:${ports.b}`, peers: peersOf('b'), onMessages: (m) => got.b.push(...m) });
    const c = await Transport.start({ ...common, nodeId: 'c', listen: `127.0.0.1:${ports.c}`, peers: peersOf('c'), onMessages: (m) => got.c.push(...m) });
    const to = (id: string, i: number) => ({ ...append(i, 64 * 1024), to: id });
    try {
      // Both links up first.
      await waitFor(
        async () => {
          a.send([to('b', 0), to('c', 0)]);
          return got.b.length > 0 && got.c.length > 0 ? true : undefined;
        },
        15_000,
        () => 'links never came up',
        100,
      );
      unreachable.length = 0;
      proxy.stall();
      // Waves of 32 x 64 KiB to each: b is stuck, so its queue overflows and drops;
      // c drains every wave.
      const cBefore = got.c.length;
      for (let wave = 0; wave < 40; wave++) {
        for (let i = 1; i <= 32; i++) a.send([to('b', wave * 32 + i), to('c', wave * 32 + i)]);
        const want = cBefore + (wave + 1) * 32;
        await waitFor(async () => (got.c.length >= want ? true : undefined), 10_000, () => `c got ${got.c.length - cBefore} in wave ${wave}`, 5);
      }
      expect(got.c.filter((m) => m.index > 0).length).toBe(40 * 32);
      expect(unreachable).toContain('b');
      expect(unreachable).not.toContain('c');
    } finally {
      proxy.heal();
      await Promise.all([a.close(), b.close(), c.close(), proxy.close()]);
    }
  }, T);

  test('TLS with a cluster CA: nodes with certs talk; a plaintext client is refused', async () => {
    const dir = makeTempDir('mom-tls-');
    try {
      const tls = makeTlsFiles(dir);
      const { a, b } = await startPair({ a: { tls }, b: { tls } });
      try {
        await connected(a, b, 'b');
        b.transport.setForwardHandler(async (p) => p);
        expect([...(await a.transport.forward('b', Uint8Array.of(5), 3000))]).toEqual([5]);
        // A node without TLS cannot reach b.
        const plain = await Transport.start({
          nodeId: 'a',
          clusterId: 'c1',
          clusterToken: 'token-c1-secret',
          listen: '127.0.0.1:0',
          peers: [{ id: 'b', grpcAddress: `127.0.0.1:${b.transport.port}` }],
          logger: silentLogger(),
          onMessages: () => {},
          onUnreachable: () => {},
        });
        try {
          await expect(plain.forward('b', Uint8Array.of(1), 1000)).rejects.toThrow(ForwardError);
        } finally {
          await plain.close();
        }
      } finally {
        await a.transport.close();
        await b.transport.close();
      }
    } finally {
      removeDir(dir);
    }
  }, T);

  test("a peer may send a whole append frame without waiting for window updates: the server's HTTP/2 windows are wider than a frame", async () => {
    const { a, b } = await startPair();
    const session = http2.connect(`http://127.0.0.1:${b.transport.port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      });
      // The stream window (settings) and the connection window (a WINDOW_UPDATE that
      // follows them) are both RAFT_RECEIVE_WINDOW_BYTES, not HTTP/2's 64 KiB.
      expect(session.remoteSettings.initialWindowSize).toBe(RAFT_RECEIVE_WINDOW_BYTES);
      await waitFor(async () => ((session.state.remoteWindowSize ?? 0) >= RAFT_RECEIVE_WINDOW_BYTES ? true : undefined), 5000, () => `connection window ${session.state.remoteWindowSize}`, 20);
      expect(RAFT_RECEIVE_WINDOW_BYTES).toBeGreaterThan(4 * 1024 * 1024); // a frame's most (maxFrameBytes)
    } finally {
      session.destroy();
      await a.transport.close();
      await b.transport.close();
    }
  }, T);

  test('a taken listen address is a clear error', async () => {
    const { a, b } = await startPair();
    try {
      const err = await Transport.start({
        nodeId: 'x',
        clusterId: 'c1',
        clusterToken: 'token-c1-secret',
        listen: `127.0.0.1:${a.transport.port}`,
        peers: [],
        logger: silentLogger(),
        onMessages: () => {},
        onUnreachable: () => {},
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as Error).message).toMatch(/already in use/);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);
});

describe('entry records', () => {
  test("an encoded entry's data is its copy inside the record: the buffer it was proposed in is not held twice", () => {
    const proposed = [new Uint8Array(5000).fill(1), new Uint8Array(300).fill(2)];
    const ents = proposed.map((data, i) => ({ index: i + 1, term: 1, type: 'normal' as const, data }));
    const buf = encodeRecords(ents);
    ents.forEach((e, i) => {
      expect(e.data.buffer).toBe(buf.buffer);
      expect(e.data).not.toBeInstanceOf(Buffer);
      expect(Buffer.from(e.data).equals(Buffer.from(proposed[i]))).toBe(true);
      const record = knownRecord(e)!;
      expect(e.data.byteOffset + e.data.length).toBe(record.byteOffset + record.length);
    });
  });

  test('a command encoded with COMMAND_HEADROOM becomes its record where it lies: its bytes are not copied', () => {
    const send = { type: 'queue.send' as const, user: 'u', queue: 'q', batch: true, messages: Array.from({ length: 100 }, (_, i) => ({ body: `${i}`.padEnd(1024, 'x') })) };
    const command = encodeCommand(send, COMMAND_HEADROOM);
    const data = encodeEnvelope(7, 1, 1_700_000_000_000, command, COMMAND_HEADROOM);
    offerRecordRoom(data);
    const small = encodeEnvelope(7, 2, 1_700_000_000_000, Buffer.concat([Buffer.alloc(COMMAND_HEADROOM), Buffer.from('tiny')]), COMMAND_HEADROOM);
    offerRecordRoom(small); // a slice of Buffer's shared pool: not taken, it is copied
    const ents = [
      { index: 5, term: 2, type: 'normal' as const, data },
      { index: 6, term: 2, type: 'normal' as const, data: small },
    ];
    encodeRecords(ents);
    const record = knownRecord(ents[0])!;
    expect(record.buffer).toBe(command.buffer);
    expect(record.length).toBe(command.buffer.byteLength);
    expect(ents[0].data).toBe(data);
    expect(ents[1].data).not.toBe(small); // copied: pointed at its copy inside its record
    // The records read back as the entries, checksums checked, the command intact.
    const back = decodeRecords(Buffer.concat(recordRuns(ents)));
    expect(back.map((e) => [e.index, e.term, e.type])).toEqual([[5, 2, 'normal'], [6, 2, 'normal']]);
    expect(Buffer.from(decodeEnvelope(back[0].data).command).equals(Buffer.from(command.subarray(COMMAND_HEADROOM)))).toBe(true);
    expect(Buffer.from(back[1].data).equals(Buffer.from(small))).toBe(true);
    // Each buffer holds one entry's record: the segment write and the frames take them as two runs.
    const runs = recordRuns(ents);
    expect(runs).toHaveLength(2);
    expect(runs[0].buffer).toBe(command.buffer);
    // A small command in a buffer of its own is copied too: small records share a buffer.
    const one = { type: 'queue.send' as const, user: 'u', queue: 'q', batch: false, messages: [{ body: 'hello' }] };
    const smallCommand = encodeCommand(one, COMMAND_HEADROOM);
    expect(smallCommand.byteOffset + smallCommand.length).toBe(smallCommand.buffer.byteLength); // a buffer of its own
    const smallData = encodeEnvelope(7, 3, 1_700_000_000_000, smallCommand, COMMAND_HEADROOM);
    offerRecordRoom(smallData);
    const smallEntry = { index: 7, term: 2, type: 'normal' as const, data: smallData };
    encodeRecords([smallEntry]);
    expect(knownRecord(smallEntry)!.buffer).not.toBe(smallCommand.buffer);
  });

  test('records of entries from two frames are joined without encoding them again', () => {
    const first = decodeBatch(encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(1), append(2)], entriesAsRecords: true }));
    const second = decodeBatch(encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: [append(3)], entriesAsRecords: true }));
    const ents = [...first.messages[0].entries, ...first.messages[1].entries, ...second.messages[0].entries];
    const fresh = ents.map((e) => ({ ...e })); // no records known: encoded from the fields
    expect(Buffer.from(recordsOf(ents)).equals(Buffer.from(recordsOf(fresh)))).toBe(true);
    // The segment write takes them as they lie: a view of each message's records in its frame.
    const runs = recordRuns(ents);
    expect(runs).toHaveLength(3);
    const frames = [first, first, second].map((f) => f.messages[0].entries[0].data.buffer);
    runs.forEach((r, i) => expect(r.buffer).toBe(frames[i]));
    expect(Buffer.from(Buffer.concat(runs)).equals(Buffer.from(recordsOf(fresh)))).toBe(true);
  });

  test("the entries of one message are written as a view of the frame, not a copy", () => {
    const many = message('append', 'a', 'b', 3, {
      index: 10,
      logTerm: 3,
      entries: [11, 12, 13].map((index) => ({ index, term: 3, type: 'normal' as const, data: new Uint8Array(5000).fill(index) })),
    });
    const frame = encodeBatch({ clusterId: 'c', clusterToken: 't', from: 'a', messages: [many], entriesAsRecords: true });
    const ents = decodeBatch(frame).messages[0].entries;
    const written = recordsOf(ents);
    expect(written.buffer).toBe(frame.buffer);
    expect(written.byteOffset).toBe(knownRecord(ents[0])!.byteOffset);
    expect(written.length).toBe(3 * (4 + 21 + 5000));
  });
});

describe('peer guard', () => {
  const guard = new PeerGuard('c1', 'token-c1-secret', new Set(['a', 'b']));
  const bigBatch = (clusterToken: string) =>
    encodeBatch({ clusterId: 'c1', clusterToken, from: 'a', messages: Array.from({ length: 200 }, (_, i) => append(i, 4096)) });

  test('reads the credentials without decoding the messages', () => {
    expect(peekCredentials(bigBatch('token-c1-secret'))).toEqual({ clusterId: 'c1', clusterToken: 'token-c1-secret', from: 'a' });
  });

  test('a wrong token, cluster id or unknown node is refused before the messages are decoded', () => {
    let decoded = 0;
    const deserialize = guard.deserializer((bytes) => {
      decoded++;
      return decodeBatch(bytes);
    });
    for (const bytes of [
      bigBatch('wrong-token'),
      bigBatch(''),
      encodeBatch({ clusterId: 'c2', clusterToken: 'token-c1-secret', from: 'a', messages: [append(1)] }),
      encodeBatch({ clusterId: 'c1', clusterToken: 'token-c1-secret', from: 'mallory', messages: [append(1)] }),
      Uint8Array.of(0xff, 0xff, 0xff),
    ]) {
      expect(isRefused(deserialize(bytes))).toBe(true);
    }
    expect(decoded).toBe(0);
    // Id and token are checked as one digest: moving their boundary does not pass.
    expect(guard.admits({ clusterId: 'c1t', clusterToken: 'oken-c1-secret', from: 'a' })).toBe(false);
    expect(guard.admits({ clusterId: '', clusterToken: 'c1token-c1-secret', from: 'a' })).toBe(false);
    expect(guard.admits({ clusterId: 'c1', clusterToken: 'token-c1-secret', from: 'a' })).toBe(true);
    const ok = deserialize(bigBatch('token-c1-secret'));
    expect(isRefused(ok)).toBe(false);
    expect(decoded).toBe(1);
  });
});

describe('inbound frames', () => {
  test('entries received are views of the frame grpc-js reassembled, not of a copy', async () => {
    const { a, b } = await startPair();
    try {
      await connected(a, b, 'b');
      const sent = append(7, 100_000);
      a.transport.send([sent]);
      await waitFor(async () => (b.received.some((m) => m.type === 'append') ? true : undefined), 15_000, () => 'the append never arrived', 20);
      const data = b.received.find((m) => m.type === 'append')!.entries[0].data;
      expect(Buffer.from(data).equals(Buffer.from(sent.entries[0].data))).toBe(true);
      // grpc-js's framed message: a byte of flags (0: not compressed) and the length
      // of the rest, then the protobuf frame. A copy of the frame starts with its first
      // field's tag instead.
      const whole = Buffer.from(data.buffer, 0, data.buffer.byteLength);
      expect(whole[0]).toBe(0);
      expect(whole.readUInt32BE(1)).toBe(whole.length - 5);
    } finally {
      await a.transport.close();
      await b.transport.close();
    }
  }, T);
});

describe('per-message sender', () => {
  test("a stream admitted as one node cannot carry another node's messages", async () => {
    const { a, b } = await startPair();
    const channel = createChannel(`127.0.0.1:${b.transport.port}`);
    try {
      const client = createClient(RaftServiceDefinition, channel);
      const frames = async function* () {
        yield { clusterId: 'c1', clusterToken: 'token-c1-secret', from: 'a', messages: [message('heartbeat', 'a', 'b', 1, { commit: 1 })] };
        // Poses as a third node in the same stream.
        yield { clusterId: 'c1', clusterToken: 'token-c1-secret', from: 'a', messages: [message('vote', 'c', 'b', 9)] };
      };
      const err = await client.send(frames()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(Status.PERMISSION_DENIED);
      expect(b.received.map((m) => m.from)).toEqual(['a']);
    } finally {
      channel.close();
      await a.transport.close();
      await b.transport.close();
    }
  }, T);
});
