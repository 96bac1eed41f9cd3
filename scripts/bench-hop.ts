// What one node-to-node hop costs, layer by layer: two Node processes on loopback
// exchange a ~1.2 KB "append" and a ~100 B "answer", over
//   nice   - nice-grpc client streams fed by async generators, server `for await`
//            (how PeerLink worked before it wrote to grpc-js itself)
//   grpcjs - grpc-js client streams, `write` from the send call, server 'data' handler
//   bidi   - one grpc-js bidi stream: the peer answers on the same call
//   h2     - bare node:http2, one stream, answers on its response side
//   net    - a bare TCP socket (the floor of the machine)
// Every send starts from a thread-pool callback, as a Raft send does (after an fsync,
// or from an HTTP read), and the answer too. The monotonic clock is shared by the
// two processes, so the one-way times are exact. Prints p50/p99 of each way and of the
// round trip, and the CPU per round trip of each process.
//   node --import tsx scripts/bench-hop.ts [modes...] [--n 4000] [--gap-ms 1]
// --gap-ms leaves the processes idle between round trips, as between sequential sends
// (an idle process, or an idle core of a VM, takes longer to wake).
import { fork } from 'node:child_process';
import { fstat, openSync } from 'node:fs';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createChannel, createClient, createServer, type ServiceDefinition } from 'nice-grpc';

const MODES = ['nice', 'grpcjs', 'bidi', 'h2', 'net'] as const;
type Mode = (typeof MODES)[number];
const APPEND_BYTES = 1200;
const ANSWER_BYTES = 100;

const identity = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const definition = {
  send: {
    path: '/hop.Hop/Send',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    options: {},
  },
  chat: {
    path: '/hop.Hop/Chat',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    options: {},
  },
} as const satisfies ServiceDefinition;

const now = () => Number(process.hrtime.bigint()) / 1000; // µs, monotonic
const fd = openSync(process.execPath, 'r');
/** Runs `fn` from a thread-pool callback (the context a Raft send starts from). */
const fromPool = (fn: () => void) => fstat(fd, () => fn());

/** A frame stamped with when the append left (t0) and, on an answer, when the answer left (t1). */
function frame(size: number, t0: number, t1: number, appendIn = 0): Buffer {
  const b = Buffer.alloc(size);
  b.writeDoubleLE(t0, 0);
  b.writeDoubleLE(t1, 8);
  b.writeDoubleLE(appendIn, 16);
  return b;
}

/** One side's link: `send` a frame to the other process; `onFrame` receives its frames. */
interface Link {
  send(b: Buffer): void;
  onFrame(fn: (b: Buffer) => void): void;
}

/** Length-prefixed framing over a byte stream (h2 and net). */
function deframe(onFrame: (b: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readUInt32LE(0);
      if (pending.length < 4 + len) break;
      onFrame(pending.subarray(4, 4 + len));
      pending = pending.subarray(4 + len);
    }
  };
}
function lengthPrefixed(b: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(b.length, 0);
  return Buffer.concat([head, b]);
}

/** Both sides of the two-client-stream modes: a server for inbound, a client stream out. */
async function clientStreams(mode: 'nice' | 'grpcjs', listenPort: number, peerPort: () => Promise<number>): Promise<{ port: number; link: () => Promise<Link> }> {
  let handler: (b: Buffer) => void = () => {};
  let port: number;
  if (mode === 'nice') {
    const server = createServer();
    server.add(definition, {
      async send(frames) {
        for await (const b of frames) handler(b);
        return Buffer.alloc(0);
      },
      async *chat() {},
    });
    port = await server.listen(`127.0.0.1:${listenPort}`);
  } else {
    const server = new grpc.Server();
    server.addService(grpc.makeGenericClientConstructor({ send: definition.send }, 'Hop').service, {
      send(call: grpc.ServerReadableStream<Buffer, Buffer>) {
        call.on('data', (b: Buffer) => handler(b));
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${listenPort}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  }
  const link = async (): Promise<Link> => {
    const address = `127.0.0.1:${await peerPort()}`;
    let send: (b: Buffer) => void;
    if (mode === 'nice') {
      const client = createClient(definition, createChannel(address));
      const queue: Buffer[] = [];
      let wake: (() => void) | undefined;
      async function* frames() {
        for (;;) {
          if (queue.length === 0) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          yield queue.shift()!;
        }
      }
      client.send(frames()).catch(() => {}); // the peer is killed at the end
      send = (b) => {
        queue.push(b);
        const w = wake;
        wake = undefined;
        w?.();
      };
    } else {
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      const call = client.makeClientStreamRequest(definition.send.path, identity, identity, () => {});
      call.on('error', () => {});
      send = (b) => call.write(b);
    }
    return { send, onFrame: (fn) => (handler = fn) };
  };
  return { port, link };
}

// ---- the peer (child process): answers every append ----

async function peer(mode: Mode, parentPort: number): Promise<void> {
  const answer = (link: Link) =>
    link.onFrame((b) => {
      const t0 = b.readDoubleLE(0);
      const appendIn = now();
      fromPool(() => link.send(frame(ANSWER_BYTES, t0, now(), appendIn)));
    });
  if (mode === 'nice' || mode === 'grpcjs') {
    const side = await clientStreams(mode, 0, async () => parentPort);
    process.send!({ port: side.port });
    answer(await side.link());
  } else if (mode === 'bidi') {
    const server = new grpc.Server();
    server.addService(grpc.makeGenericClientConstructor({ chat: definition.chat }, 'Hop').service, {
      chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
        answer({ send: (b) => call.write(b), onFrame: (fn) => call.on('data', fn) });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    process.send!({ port });
  } else if (mode === 'h2') {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      const link: Link = { send: (b) => stream.write(lengthPrefixed(b)), onFrame: (fn) => stream.on('data', deframe(fn)) };
      answer(link);
    });
    server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  } else {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      answer({ send: (b) => socket.write(lengthPrefixed(b)), onFrame: (fn) => socket.on('data', deframe(fn)) });
    });
    server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  }
}

// ---- the driver (parent) ----

async function connect(mode: Mode, peerPort: () => Promise<number>, listen: (port: number) => void): Promise<Link> {
  if (mode === 'nice' || mode === 'grpcjs') {
    const side = await clientStreams(mode, 0, peerPort);
    listen(side.port);
    return side.link();
  }
  const port = await peerPort();
  if (mode === 'bidi') {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(definition.chat.path, identity, identity);
    call.on('error', () => {});
    return { send: (b) => call.write(b), onFrame: (fn) => call.on('data', fn) };
  }
  if (mode === 'h2') {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const stream = session.request({ ':method': 'POST', ':path': '/hop' }, { endStream: false });
    stream.on('error', () => {});
    session.on('error', () => {});
    return { send: (b) => stream.write(lengthPrefixed(b)), onFrame: (fn) => stream.on('data', deframe(fn)) };
  }
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  return { send: (b) => socket.write(lengthPrefixed(b)), onFrame: (fn) => socket.on('data', deframe(fn)) };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function drive(mode: Mode, n: number, gapMs: number): Promise<string> {
  const child = fork(new URL(import.meta.url).pathname, ['--peer', mode], { execArgv: process.execArgv });
  let resolvePort: (p: number) => void;
  const portKnown = new Promise<number>((r) => (resolvePort = r));
  let childCpu: ((us: number) => void) | undefined;
  child.on('message', (m: { port?: number; cpuUs?: number }) => {
    if (m.port !== undefined) resolvePort(m.port);
    if (m.cpuUs !== undefined) childCpu?.(m.cpuUs);
  });
  const link = await connect(mode, () => portKnown, (port) => child.send({ parentPort: port }));
  const there: number[] = [];
  const back: number[] = [];
  const round: number[] = [];
  let next: (() => void) | undefined;
  link.onFrame((b) => {
    const t0 = b.readDoubleLE(0);
    const t1 = b.readDoubleLE(8);
    const t2 = now();
    there.push(b.readDoubleLE(16) - t0);
    back.push(t2 - t1);
    round.push(t2 - t0);
    next?.();
  });
  const once = () => new Promise<void>((resolve) => {
    next = resolve;
    const go = () => fromPool(() => link.send(frame(APPEND_BYTES, now(), 0)));
    if (gapMs > 0) setTimeout(go, gapMs);
    else go();
  });
  for (let i = 0; i < 500; i++) await once();
  there.length = back.length = round.length = 0;
  child.send({ cpuStart: true });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await once();
  const cpu = process.cpuUsage(cpu0);
  const childUs = await new Promise<number>((r) => {
    childCpu = r;
    child.send({ cpuStop: true });
  });
  child.kill();
  const f = (x: number) => x.toFixed(0).padStart(5);
  return `| ${mode.padEnd(6)} | ${f(quantile(there, 0.5))} | ${f(quantile(there, 0.99))} | ${f(quantile(back, 0.5))} | ${f(quantile(back, 0.99))} | ${f(quantile(round, 0.5))} | ${f(quantile(round, 0.99))} | ${f((cpu.user + cpu.system) / n)} | ${f(childUs / n)} |`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--peer') {
    const mode = args[1] as Mode;
    let cpu0 = process.cpuUsage();
    process.on('message', (m: { parentPort?: number; cpuStart?: boolean; cpuStop?: boolean }) => {
      if (m.cpuStart) cpu0 = process.cpuUsage();
      if (m.cpuStop) {
        const c = process.cpuUsage(cpu0);
        process.send!({ cpuUs: c.user + c.system });
      }
    });
    const parentPort = mode === 'nice' || mode === 'grpcjs' ? await new Promise<number>((r) => process.once('message', (m: { parentPort: number }) => r(m.parentPort))) : 0;
    await peer(mode, parentPort);
    return;
  }
  const nAt = args.indexOf('--n');
  const n = nAt >= 0 ? Number(args[nAt + 1]) : 4000;
  const gapAt = args.indexOf('--gap-ms');
  const gapMs = gapAt >= 0 ? Number(args[gapAt + 1]) : 0;
  const modes = args.filter((a) => (MODES as readonly string[]).includes(a)) as Mode[];
  console.log(`one-way and round-trip µs between two processes on loopback, ${n} round trips ${gapMs} ms apart, ${APPEND_BYTES} B out, ${ANSWER_BYTES} B back`);
  console.log('| mode   | there p50 | p99 | back p50 | p99 | round p50 | p99 | CPU µs/rt driver | peer |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const mode of modes.length > 0 ? modes : MODES) console.log(await drive(mode, n, gapMs));
  process.exit(0);
}

void main();
