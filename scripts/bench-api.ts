// The REST layer's own cost, without Raft: server CPU per request of the API of dist/
// (BENCH_DIST) over one Broker applied directly, against a bare Node HTTP
// server that reads the body, parses it and answers a small JSON (the floor of one
// request per message on Node). The server runs in a child process so its CPU is its
// own; the load generator is the bench's (undici, closed loop).
//
//   node --import tsx scripts/bench-api.ts [--servers api,bare] [--in-flight 1,256]
//        [--duration 3000] [--runs 3] [--mode redirect|forward] [--via leader|follower] [--profile]
//
// --via follower sends to a follower (with --mode forward, the in-process relay to the
// leader included: both servers run in the measured process).
// --profile writes the api server's --cpu-prof into bench-results/.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BrokerLink, LeaderPool } from './bench/client.js';
import { closedLoop } from './bench/load.js';
import { BENCH_USER } from './bench/setup.js';

type ServerKind = 'api' | 'bare';

interface Ready {
  kind: 'ready';
  url: string;
}

interface CpuReply {
  kind: 'cpu';
  user: number;
  system: number;
}

const BODY = JSON.stringify({ body: 'x'.repeat(1024) });
const QUEUE = 'bench-api';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// ---- the child: one server -------------------------------------------------------------

async function serveBare(): Promise<string> {
  const answer = JSON.stringify({ id: '00000000000000000000000001', deduplicated: false });
  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

/** The API's view of a single-replica node: every proposal is applied to the broker on
 *  the next microtask (no log, no peers). A follower of it relays (forward mode) or
 *  redirects, as RaftNode would. Loaded from dist/ (BENCH_DIST), as the product runs. */
async function serveApi(mode: 'redirect' | 'forward', via: 'leader' | 'follower'): Promise<string> {
  const dist = resolve(process.env.BENCH_DIST ?? 'dist');
  const { Broker, encodeCommand } = (await import(pathToFileURL(join(dist, 'broker/index.js')).href)) as typeof import('../src/broker/index.js');
  const { startApiServer } = (await import(pathToFileURL(join(dist, 'api/server.js')).href)) as typeof import('../src/api/server.js');
  const { NotLeaderError } = (await import(pathToFileURL(join(dist, 'node/errors.js')).href)) as typeof import('../src/node/errors.js');
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  type ApiNode = import('../src/api/ports.js').ApiNode;
  type Handler = (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>;

  const broker = new Broker();
  const urls: Record<string, string> = {};
  let index = 0;
  const log = new Map<number, Uint8Array>();
  let handler: Handler | undefined;
  const view = (id: string, role: 'leader' | 'follower') => ({
    nodeId: id, role, term: 1, leaderId: 'n1', leaderUrl: urls.n1 ?? null, commitIndex: index, appliedIndex: index,
    nodes: Object.entries(urls).map(([nid, httpUrl]) => ({ id: nid, httpUrl })),
  });
  const leader: ApiNode = {
    id: 'n1',
    leadership: () => ({ role: 'leader', leaderId: 'n1', leaderUrl: urls.n1 ?? null }),
    async propose(withHeadroom, headroom = 0) {
      const command = withHeadroom.subarray(headroom);
      await Promise.resolve();
      index += 1;
      // Answers read bodies from the log: keep the entries live messages still need.
      log.set(index, command);
      const retain = broker.retainFrom() ?? index;
      for (const k of log.keys()) {
        if (k >= retain) break;
        log.delete(k);
      }
      return broker.answer(broker.apply(command, { index, term: 1, time: Date.now() }), (i) => log.get(i));
    },
    async readBarrier() {},
    status: () => view('n1', 'leader'),
    isReady: () => true,
    storageRefusal: () => undefined,
    forward: () => Promise.reject(new Error('the leader does not forward')),
    setForwardHandler(h) { handler = h; },
  };
  const follower: ApiNode = {
    id: 'n2',
    leadership: () => ({ role: 'follower', leaderId: 'n1', leaderUrl: urls.n1 ?? null }),
    propose: () => Promise.reject(new NotLeaderError('n1', urls.n1)),
    readBarrier: () => Promise.reject(new NotLeaderError('n1', urls.n1)),
    status: () => view('n2', 'follower'),
    isReady: () => true,
    storageRefusal: () => undefined,
    forward: (payload, _timeoutMs, signal) => handler!(payload, signal),
    setForwardHandler() {},
  };
  setInterval(() => {
    const due = broker.nextDueAt();
    if (due !== undefined && due <= Date.now()) void leader.propose(encodeCommand({ type: 'tick' }));
  }, 20).unref();
  for (const node of via === 'leader' ? [leader] : [leader, follower]) {
    const server = await startApiServer({
      config: {
        nodeId: node.id, clusterId: 'bench-api', httpListen: '127.0.0.1:0', advertisedHttpUrl: '',
        jwtSecret: 'bench-api-secret-0123456789abcdef', jwtTtlMs: 3_600_000, leaderMode: mode,
      },
      node,
      broker,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
    });
    urls[node.id] = `http://127.0.0.1:${server.port}`;
  }
  return via === 'leader' ? urls.n1 : urls.n2;
}

async function child(kind: ServerKind): Promise<void> {
  // The product's V8 settings (main.ts loads them first).
  await import(pathToFileURL(join(resolve(process.env.BENCH_DIST ?? 'dist'), 'runtime-tuning.js')).href);
  const mode = flag('--mode', 'redirect') as 'redirect' | 'forward';
  const via = flag('--via', 'leader') as 'leader' | 'follower';
  const url = kind === 'bare' ? await serveBare() : await serveApi(mode, via);
  process.on('message', (msg: { kind: string }) => {
    if (msg.kind === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ kind: 'cpu', user: u.user, system: u.system } satisfies CpuReply);
    } else if (msg.kind === 'stop') {
      process.exit(0);
    }
  });
  process.send!({ kind: 'ready', url } satisfies Ready);
}

// ---- the parent: load and figures ------------------------------------------------------

function ask<T>(proc: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve) => {
    proc.once('message', (msg) => resolve(msg as T));
    proc.send({ kind });
  });
}

async function startChild(kind: ServerKind, profile: boolean): Promise<{ proc: ChildProcess; url: string }> {
  const execArgv = ['--import', 'tsx', '--no-warnings'];
  if (profile && kind === 'api') execArgv.push('--cpu-prof', '--cpu-prof-dir=bench-results');
  const proc = fork(fileURLToPath(import.meta.url), ['--serve', kind, ...process.argv.slice(2)], { execArgv, stdio: 'inherit' });
  const [ready] = (await once(proc, 'message')) as [Ready];
  return { proc, url: ready.url };
}

async function prepare(link: BrokerLink, kind: ServerKind): Promise<void> {
  if (kind === 'bare') return;
  await link.json('POST', '/v1/auth/register', BENCH_USER, [409]);
  link.token = (await link.json<{ token: string }>('POST', '/v1/auth/login', BENCH_USER)).token;
  await link.json('POST', '/v1/queues', { name: QUEUE }, [409]);
}

interface Figures {
  rate: number;
  cpuPerRequestUs: number;
  /** The kernel's share (system time): sockets, mostly. */
  systemPerRequestUs: number;
  p50: number;
  p99: number;
}

async function measure(link: BrokerLink, proc: ChildProcess, inFlight: number, durationMs: number): Promise<Figures> {
  const connections = Math.min(inFlight, 64);
  const pool = new LeaderPool(link, { connections, pipelining: Math.ceil(inFlight / connections) });
  const path = `/v1/queues/${QUEUE}/messages`;
  const op = async () => {
    const reply = await pool.post(path, BODY);
    if (reply.status !== 201) throw new Error(`send: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
    return 1;
  };
  // Warm-up: the JIT and the connections.
  await closedLoop({ concurrency: inFlight, durationMs: 1500, op });
  const before = await ask<CpuReply>(proc, 'cpu');
  const result = await closedLoop({ concurrency: inFlight, durationMs, op });
  const after = await ask<CpuReply>(proc, 'cpu');
  await pool.close();
  // Keep the queue small, so that runs compare alike.
  if (link.token !== '') await link.json('POST', `/v1/queues/${QUEUE}/purge`, {});
  if (result.errors > 0) throw new Error(`${result.errors} failed requests, e.g. ${result.errorSamples[0]}`);
  const n = result.operations;
  return {
    rate: result.rate,
    cpuPerRequestUs: (after.user + after.system - before.user - before.system) / n,
    systemPerRequestUs: (after.system - before.system) / n,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function parent(): Promise<void> {
  const kinds = flag('--servers', 'api,bare').split(',') as ServerKind[];
  const inFlights = flag('--in-flight', '1,256').split(',').map(Number);
  const durationMs = Number(flag('--duration', '3000'));
  const runs = Number(flag('--runs', '3'));
  const profile = process.argv.includes('--profile');
  for (const kind of kinds) {
    const { proc, url } = await startChild(kind, profile);
    const link = new BrokerLink([url]);
    try {
      await prepare(link, kind);
      for (const inFlight of inFlights) {
        const all: Figures[] = [];
        for (let r = 0; r < runs; r++) all.push(await measure(link, proc, inFlight, durationMs));
        const fmt = (xs: number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join('/');
        console.log(
          `${kind.padEnd(4)} ${String(inFlight).padStart(3)} in flight: ` +
            `server CPU ${median(all.map((f) => f.cpuPerRequestUs)).toFixed(1)} µs/request (${fmt(all.map((f) => f.cpuPerRequestUs), 1)}; ` +
            `kernel ${median(all.map((f) => f.systemPerRequestUs)).toFixed(1)}), ` +
            `${median(all.map((f) => f.rate)).toFixed(0)} req/s, p50 ${median(all.map((f) => f.p50)).toFixed(3)} ms, p99 ${median(all.map((f) => f.p99)).toFixed(3)} ms`,
        );
      }
    } finally {
      await link.close();
      proc.send({ kind: 'stop' });
      await once(proc, 'exit');
    }
  }
}

const serveIndex = process.argv.indexOf('--serve');
if (serveIndex >= 0) await child(process.argv[serveIndex + 1] as ServerKind);
else await parent();
