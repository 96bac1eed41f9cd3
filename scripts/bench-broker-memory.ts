// Memory per queued message of the broker alone: enqueues N 1 KiB messages through
// apply (binary sends in batches of 100, as the log hands them over), then prints heap
// and resident memory per message beyond the baseline, the snapshot's size, and the
// time to encode (snapshot(), and in 1 MiB chunks) and to restore it. The bodies are in
// the log entries, not in the broker (src/broker/README.md, Where bodies live), so the
// script does not keep them either: 64 entries are reused in turn.
//   node --expose-gc --max-old-space-size=512 --import tsx scripts/bench-broker-memory.ts [--messages N] [--broker <src/broker dir>]
// (--broker measures another checkout's broker, e.g. one that kept bodies in memory.)
// `make bench-broker-memory` runs it for 1,000,000 and 5,000,000 messages.
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type * as BrokerModule from '../src/broker/index.js';
import type { Command, CommandResult } from '../src/broker/index.js';
import { exposedGc, numberArg } from './lib/script-args.js';

const gc = exposedGc();
const MESSAGES = numberArg('--messages', 1_000_000);
const dirArg = process.argv.indexOf('--broker');
const dir = resolve(dirArg >= 0 ? process.argv[dirArg + 1] : 'src/broker');
const { Broker, encodeCommand } = (await import(pathToFileURL(join(dir, 'index.ts')).href)) as typeof BrokerModule;
type Broker = BrokerModule.Broker;
const BATCH = 100;
const BODY = 1024;
const MiB = 2 ** 20;

/** After a full GC: the JS heap, typed arrays' memory (outside the heap: the columns of
 *  fresh messages live there) and the resident set. */
function settled(): { heap: number; buffers: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

function body(i: number): string {
  const tag = i.toString(36).padStart(8, '0');
  return tag + 'x'.repeat(BODY - tag.length);
}

const pool = Array.from({ length: 64 }, (_, k) => encodeCommand({
  type: 'queue.send', user: 'bench', queue: 'q', batch: true,
  messages: Array.from({ length: BATCH }, (_, i) => ({ body: body(k * BATCH + i) })),
}));

const broker = new Broker();
let index = 0;
const time = Date.UTC(2026, 0, 1);
const apply = (b: Broker, bytes: Uint8Array): CommandResult => {
  const r = b.apply(bytes, { index: ++index, term: 1, time });
  if (!r.ok) throw new Error(r.error.message);
  return r;
};
const cmd = (c: Command) => apply(broker, encodeCommand(c));
cmd({ type: 'user.register', username: 'bench', passwordHash: 'x' });
cmd({ type: 'queue.create', user: 'bench', name: 'q', visibilityTimeoutMs: 3_600_000 });
cmd({ type: 'cluster.limits', limits: { ...broker.limits(), messagesPerQueue: 100_000_000, queuedBytesPerQueue: 2 ** 50, queuedBytesPerUser: 2 ** 50 } });

const base = settled();
const firstSend = index + 1;
const t0 = performance.now();
for (let i = 0; i < MESSAGES / BATCH; i++) apply(broker, pool[i % pool.length]);
const fillMs = performance.now() - t0;
const full = settled();
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d });
console.log(`${fmt(MESSAGES, 0)} queued messages of ${BODY} B, batches of ${BATCH}; node ${process.version}`);
console.log(`  fill (apply):           ${fmt(fillMs, 0)} ms, ${fmt((fillMs * 1000) / MESSAGES, 2)} µs per message`);
console.log(`  heap per message:       ${fmt((full.heap - base.heap) / MESSAGES)} B  (${fmt((full.heap - base.heap) / MiB)} MiB)`);
console.log(`  typed arrays per msg:   ${fmt((full.buffers - base.buffers) / MESSAGES)} B  (${fmt((full.buffers - base.buffers) / MiB)} MiB)`);
console.log(`  RSS per message:        ${fmt((full.rss - base.rss) / MESSAGES)} B  (${fmt((full.rss - base.rss) / MiB)} MiB)`);
if (typeof broker.retainFrom !== 'function') {
  // A broker that keeps bodies in memory: no answer() nor retainFrom() to check.
  const t1 = performance.now();
  const image = broker.snapshot();
  console.log(`  snapshot:               ${fmt(image.length, 0)} B, snapshot() ${fmt(performance.now() - t1, 0)} ms`);
  process.exit(0);
}
console.log(`  retainFrom:             ${broker.retainFrom()} (first send ${firstSend})`);

let t = performance.now();
const image = broker.snapshot();
const encodeMs = performance.now() - t;
console.log(`  snapshot:               ${fmt(image.length, 0)} B (${fmt(image.length / MESSAGES, 2)} B per message), snapshot() ${fmt(encodeMs, 0)} ms`);
t = performance.now();
const start = t;
let chunks = 0;
let worst = 0;
for (const _ of broker.snapshotChunks(MiB)) {
  chunks++;
  const now = performance.now();
  worst = Math.max(worst, now - t);
  t = now;
}
console.log(`  chunked encode:         ${fmt(t - start, 0)} ms in ${chunks} chunks of 1 MiB, worst ${fmt(worst, 2)} ms`);

const copy = new Broker();
t = performance.now();
copy.restore(image);
const restoreMs = performance.now() - t;
console.log(`  restore:                ${fmt(restoreMs, 0)} ms`);
// The restored replica answers from the same entries: the oldest message first.
const r = copy.answer(
  apply(copy, encodeCommand({ type: 'queue.receive', user: 'bench', queue: 'q', max: 3 })),
  (i) => (i >= firstSend ? pool[(i - firstSend) % pool.length] : undefined),
) as CommandResult<{ messages: { body: string }[] }>;
if (!r.ok || r.value.messages.map((m) => m.body).join() !== [0, 1, 2].map(body).join()) throw new Error('the restored replica answered other bodies');
console.log(`  restored replica answers the oldest bodies: ok; retainFrom ${copy.retainFrom()}`);
