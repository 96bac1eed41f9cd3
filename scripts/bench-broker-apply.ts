// Apply CPU per message of the broker alone (no Raft, no I/O), for A/B runs of two
// checkouts: sends as followers and leaders apply them (binary entries of 100 x 1 KiB),
// then receives of 100 (with Broker.answer filling bodies in from the entries, where
// the broker has it) and acks. Prints the median of --rounds rounds, CPU time; and what
// the proposing node pays to validate and encode one receive and one ack of --take
// handles (scenario 4 of `make bench` takes 10).
//   node --expose-gc --import tsx scripts/bench-broker-apply.ts [--broker <src/broker dir>] [--entries N] [--rounds R] [--take N]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { argValue, numberArg } from './lib/script-args.js';

const dir = resolve(argValue('--broker', 'src/broker'));
const ENTRIES = numberArg('--entries', 2000);
const ROUNDS = numberArg('--rounds', 5);
const BATCH = 100;
const TAKE = numberArg('--take', 10);
const BODY = 1024;

interface BrokerLike {
  apply(bytes: Uint8Array, ctx: { index: number; term: number; time: number }): { ok: boolean; value?: unknown };
  answer?(result: unknown, read: (index: number) => Uint8Array | undefined): unknown;
}
const mod = (await import(pathToFileURL(join(dir, 'index.ts')).href)) as {
  Broker: new () => BrokerLike;
  encodeCommand(c: unknown): Uint8Array;
};

function body(i: number): string {
  const tag = i.toString(36).padStart(8, '0');
  return JSON.parse(JSON.stringify(tag + 'x'.repeat(BODY - tag.length))) as string;
}

// 64 distinct send entries, reused in turn (apply does not care that bodies repeat).
const pool = Array.from({ length: 64 }, (_, k) => mod.encodeCommand({
  type: 'queue.send', user: 'bench', queue: 'q', batch: true,
  messages: Array.from({ length: BATCH }, (_, i) => ({ body: body(k * BATCH + i) })),
}));

function cpuUs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return u.user + u.system;
}

interface Round {
  send: number;
  receive: number;
  ack: number;
  encodeReceive: number;
  encodeAck: number;
}

/** CPU µs to validate and encode one receive and one ack (of TAKE handles), as the API
 *  does for every request on the leader. */
function encodeCosts(handles: readonly string[]): { encodeReceive: number; encodeAck: number } {
  const n = 20_000;
  const receiptHandles = handles.slice(0, TAKE);
  const receive = { type: 'queue.receive', user: 'bench', queue: 'q', max: TAKE };
  const ack = { type: 'queue.ack', user: 'bench', queue: 'q', receiptHandles };
  const encodeReceive = cpuUs(() => {
    for (let i = 0; i < n; i++) mod.encodeCommand(receive);
  });
  const encodeAck = cpuUs(() => {
    for (let i = 0; i < n; i++) mod.encodeCommand(ack);
  });
  return { encodeReceive: encodeReceive / n, encodeAck: encodeAck / n };
}

function round(): Round {
  const b = new mod.Broker();
  const log = new Map<number, Uint8Array>();
  let index = 0;
  const time = Date.UTC(2026, 0, 1);
  const apply = (bytes: Uint8Array) => {
    log.set(++index, bytes);
    const r = b.apply(bytes, { index, term: 1, time });
    if (!r.ok) throw new Error(JSON.stringify(r));
    return b.answer ? (b.answer(r, (i) => log.get(i)) as { value: unknown }) : r;
  };
  apply(mod.encodeCommand({ type: 'user.register', username: 'bench', passwordHash: 'x' }));
  apply(mod.encodeCommand({ type: 'queue.create', user: 'bench', name: 'q', visibilityTimeoutMs: 3_600_000 }));
  apply(mod.encodeCommand({ type: 'queue.receive', user: 'bench', queue: 'q', receiptKey: '5a'.repeat(32) }));
  const send = cpuUs(() => {
    for (let i = 0; i < ENTRIES; i++) apply(pool[i % pool.length]);
  });
  const receive = mod.encodeCommand({ type: 'queue.receive', user: 'bench', queue: 'q', max: BATCH });
  const handles: string[][] = [];
  const recv = cpuUs(() => {
    for (let i = 0; i < ENTRIES; i++) {
      const got = (apply(receive).value as { messages: { receiptHandle: string; body: string }[] }).messages;
      if (got.length !== BATCH || got[0].body.length !== BODY) throw new Error('receive came back short');
      handles.push(got.map((m) => m.receiptHandle));
    }
  });
  const acks = handles.map((receiptHandles) => mod.encodeCommand({ type: 'queue.ack', user: 'bench', queue: 'q', receiptHandles }));
  const ack = cpuUs(() => {
    for (const a of acks) apply(a);
  });
  const n = ENTRIES * BATCH;
  return { send: send / n, receive: recv / n, ack: ack / n, ...encodeCosts(handles[0]) };
}

const gc = (globalThis as { gc?: () => void }).gc;
round(); // warm-up
const runs: Round[] = [];
for (let r = 0; r < ROUNDS; r++) {
  gc?.();
  runs.push(round());
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (k: keyof Round) => median(runs.map((x) => x[k])).toFixed(3);
console.log(JSON.stringify({
  broker: dir,
  answer: typeof new mod.Broker().answer === 'function',
  perMessageCpuUs: { send: fmt('send'), receive: fmt('receive'), ack: fmt('ack') },
  perCommandCpuUs: { [`encodeReceive(max ${TAKE})`]: fmt('encodeReceive'), [`encodeAck(${TAKE} handles)`]: fmt('encodeAck') },
}));
