// The broker state machine alone (no Raft, no I/O): applied commands per second for
// send, receive and ack in batches of 64, the cost of encoding and decoding a command,
// heap bytes (with typed arrays) per queued 1 KiB message with 1,000,000 queued, and the snapshot pause at
// that size. `make bench-broker` (runs with --expose-gc). Options: --messages N.
// Writes bench-results/bench-broker.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Broker, decodeCommand, encodeCommand, type Command } from '../src/broker/index.js';
import { exposedGc, numberArg } from './lib/script-args.js';

const gc = exposedGc('run with node --expose-gc (make bench-broker does)');

const MESSAGES = numberArg('--messages', 1_000_000);
const BATCH = 64;
const BODY = 1024;
const T0 = Date.UTC(2026, 0, 1);

const results: Record<string, number> = {};
const rows: [string, string][] = [];
function report(key: string, label: string, value: number, unit: string, digits = 0): void {
  results[key] = value;
  rows.push([label, `${value.toLocaleString('en-US', { maximumFractionDigits: digits })} ${unit}`]);
  console.log(`  ${label}: ${value.toLocaleString('en-US', { maximumFractionDigits: digits })} ${unit}`);
}

class Driver {
  readonly broker = new Broker();
  index = 0;
  time = T0;

  cmd(c: Command): unknown {
    const r = this.broker.applyCommand(c, { index: ++this.index, term: 1, time: this.time });
    if (!r.ok) throw new Error(`${c.type}: ${r.error.message}`);
    return r.value;
  }

  bytes(b: Uint8Array): unknown {
    const r = this.broker.apply(b, { index: ++this.index, term: 1, time: this.time });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }

  setup(): void {
    this.cmd({ type: 'user.register', username: 'bench', passwordHash: 'x' });
    this.cmd({ type: 'queue.create', user: 'bench', name: 'q', visibilityTimeoutMs: 3_600_000 });
    // As in a cluster, receipts are minted from the receipt key (src/broker/README.md).
    this.cmd({ type: 'queue.receive', user: 'bench', queue: 'q', receiptKey: '5a'.repeat(32) });
  }
}

function body(i: number): string {
  // A distinct 1 KiB ASCII body per message (what JSON.parse of real traffic yields).
  const tag = i.toString(36).padStart(8, '0');
  // JSON round trip: a flat string, not a concatenation (cons) string.
  return JSON.parse(JSON.stringify(tag + 'x'.repeat(BODY - tag.length))) as string;
}

function sendCommand(first: number, n = BATCH): Command {
  const messages = [];
  for (let i = 0; i < n; i++) messages.push({ body: body(first + i) });
  return { type: 'queue.send', user: 'bench', queue: 'q', messages, batch: true };
}

/** CPU time (all threads, GC included) of the last ms() call: on a shared machine the
 *  wall time also counts the time other processes held the cores. */
let lastCpuMs = 0;

function ms(f: () => void): number {
  const c = process.cpuUsage();
  const t = performance.now();
  f();
  const wall = performance.now() - t;
  const u = process.cpuUsage(c);
  lastCpuMs = (u.user + u.system) / 1000;
  return wall;
}

/** JS heap plus typed arrays (the columns of fresh messages live outside the heap). */
function heapUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const wallStart = performance.now();
const cpuStart = process.cpuUsage();
console.log(`broker bench: ${MESSAGES.toLocaleString('en-US')} messages of ${BODY} B, batches of ${BATCH}`);
console.log(`  heap limit ${(getHeapStatistics().heap_size_limit / 2 ** 20).toFixed(0)} MiB, node ${process.version}`);

// 1. Encoding cost per command.
{
  console.log('\nencoding (per command)');
  const send = sendCommand(0);
  const receipts = Array.from({ length: BATCH }, (_, i) => `${(1000 + i).toString(36)}.${i.toString(36)}`);
  const ack: Command = { type: 'queue.ack', user: 'bench', queue: 'q', receiptHandles: receipts };
  const receive: Command = { type: 'queue.receive', user: 'bench', queue: 'q', max: BATCH };
  for (const [name, c, reps] of [['send64x1KiB', send, 2000], ['ack64', ack, 20000], ['receive', receive, 50000]] as const) {
    const bytes = encodeCommand(c);
    for (let i = 0; i < 200; i++) decodeCommand(encodeCommand(c));
    const enc = ms(() => { for (let i = 0; i < reps; i++) encodeCommand(c); }) / reps;
    const dec = ms(() => { for (let i = 0; i < reps; i++) decodeCommand(bytes); }) / reps;
    report(`encode_${name}_us`, `encode ${name} (${bytes.length} B)`, enc * 1000, 'µs', 1);
    report(`decode_${name}_us`, `decode+validate ${name}`, dec * 1000, 'µs', 1);
  }
  // The same send as JSON, for comparison with its binary form above.
  const te = new TextEncoder();
  const json = te.encode(JSON.stringify(send));
  const encJson = ms(() => { for (let i = 0; i < 2000; i++) te.encode(JSON.stringify(send)); }) / 2000;
  const decJson = ms(() => { for (let i = 0; i < 2000; i++) decodeCommand(json); }) / 2000;
  report('encode_send64x1KiB_json_us', `encode send64x1KiB as JSON (${json.length} B)`, encJson * 1000, 'µs', 1);
  report('decode_send64x1KiB_json_us', 'decode+validate send64x1KiB JSON', decJson * 1000, 'µs', 1);
}

// 2. Throughput of the state machine on decoded commands: send, receive, ack.
{
  console.log('\nthroughput (decoded commands, batches of 64)');
  const d = new Driver();
  d.setup();
  const commands = MESSAGES / BATCH;
  // Prebuilt commands (bodies shared between rounds) so that only apply is timed.
  const pool = Array.from({ length: 256 }, (_, k) => sendCommand(k * BATCH));
  for (let i = 0; i < 2000; i++) d.cmd(pool[i % pool.length]); // warm-up
  d.cmd({ type: 'queue.purge', user: 'bench', queue: 'q' });
  const tSend = ms(() => {
    for (let i = 0; i < commands; i++) d.cmd(pool[i % pool.length]);
  });
  report('send_msgs_per_s', 'send: messages/s', (commands * BATCH) / (tSend / 1000), 'msg/s');
  report('send_cmds_per_s', 'send: commands/s', commands / (tSend / 1000), 'cmd/s');
  report('send_msgs_per_cpu_s', 'send: messages per CPU-second', (commands * BATCH) / (lastCpuMs / 1000), 'msg/s');

  const receiptBatches: string[][] = [];
  const receive: Command = { type: 'queue.receive', user: 'bench', queue: 'q', max: BATCH };
  const tRecv = ms(() => {
    for (;;) {
      const got = (d.cmd(receive) as { messages: { receiptHandle: string }[] }).messages;
      if (got.length === 0) break;
      receiptBatches.push(got.map((m) => m.receiptHandle));
    }
  });
  report('receive_msgs_per_s', 'receive: messages/s', (receiptBatches.length * BATCH) / (tRecv / 1000), 'msg/s');
  report('receive_cmds_per_s', 'receive: commands/s', receiptBatches.length / (tRecv / 1000), 'cmd/s');
  report('receive_msgs_per_cpu_s', 'receive: messages per CPU-second', (receiptBatches.length * BATCH) / (lastCpuMs / 1000), 'msg/s');

  const acks: Command[] = receiptBatches.map((receiptHandles) => ({ type: 'queue.ack', user: 'bench', queue: 'q', receiptHandles }));
  const tAck = ms(() => {
    for (const a of acks) d.cmd(a);
  });
  report('ack_msgs_per_s', 'ack: messages/s', (acks.length * BATCH) / (tAck / 1000), 'msg/s');
  report('ack_cmds_per_s', 'ack: commands/s', acks.length / (tAck / 1000), 'cmd/s');
  report('ack_msgs_per_cpu_s', 'ack: messages per CPU-second', (acks.length * BATCH) / (lastCpuMs / 1000), 'msg/s');
}

// 3. The whole apply path as the node runs it: bytes -> decode + validate -> apply.
{
  console.log('\nthroughput (log entry bytes: decode + validate + apply)');
  const d = new Driver();
  d.setup();
  const n = Math.min(MESSAGES, 200_000) / BATCH;
  const entries = Array.from({ length: 256 }, (_, k) => encodeCommand(sendCommand(k * BATCH)));
  for (let i = 0; i < 500; i++) d.bytes(entries[i % entries.length]);
  const t = ms(() => {
    for (let i = 0; i < n; i++) d.bytes(entries[i % entries.length]);
  });
  report('send_bytes_msgs_per_s', 'send from entry bytes: messages/s', (n * BATCH) / (t / 1000), 'msg/s');
  report('send_bytes_msgs_per_cpu_s', 'send from entry bytes: messages per CPU-second', (n * BATCH) / (lastCpuMs / 1000), 'msg/s');
}

// 4. Memory per queued 1 KiB message, then the snapshot pause at that size.
{
  console.log(`\nmemory with ${MESSAGES.toLocaleString('en-US')} queued 1 KiB messages`);
  const d = new Driver();
  d.setup();
  const before = heapUsed();
  const commands = MESSAGES / BATCH;
  for (let i = 0; i < commands; i++) {
    // Through the entry bytes, so every body is its own flat string as in production.
    d.bytes(encodeCommand(sendCommand(i * BATCH)));
  }
  const after = heapUsed();
  const perMessage = (after - before) / MESSAGES;
  // Bodies stay in the log entries (src/broker/README.md, Where bodies live): this is
  // the metadata alone, heap and typed arrays.
  report('heap_bytes_per_message', 'heap + typed arrays per queued message', perMessage, 'B', 1);

  console.log('\nsnapshot');
  let image: Uint8Array = new Uint8Array(0);
  const pause = ms(() => {
    image = d.broker.snapshot();
  });
  report('snapshot_pause_ms', 'snapshot() pause', pause, 'ms');
  report('snapshot_pause_cpu_ms', 'snapshot() CPU time', lastCpuMs, 'ms');
  report('snapshot_bytes', 'snapshot size', image.length, 'B');
  report('snapshot_bytes_per_message', 'snapshot bytes per message (no bodies)', image.length / MESSAGES, 'B', 1);
  // Incremental: the capture is the only pause; chunks are encoded as they are pulled.
  let chunks: Iterable<Uint8Array> = [];
  const capture = ms(() => {
    chunks = d.broker.snapshotChunks(1 << 20);
  });
  report('snapshot_capture_pause_ms', 'snapshotChunks() capture pause', capture, 'ms', 1);
  report('snapshot_capture_cpu_ms', 'snapshotChunks() capture CPU time', lastCpuMs, 'ms', 1);
  let worst = 0;
  let count = 0;
  const it = chunks[Symbol.iterator]();
  for (;;) {
    const t = performance.now();
    const r = it.next();
    worst = Math.max(worst, performance.now() - t);
    if (r.done) break;
    count++;
  }
  report('snapshot_chunk_worst_ms', `worst 1 MiB chunk encode (of ${count})`, worst, 'ms', 2);
  const hashMs = ms(() => d.broker.stateHash());
  report('state_hash_ms', 'stateHash() (snapshot + hash)', hashMs, 'ms');
  const copy = new Broker();
  const restoreMs = ms(() => copy.restore(image));
  report('restore_ms', 'restore()', restoreMs, 'ms');
  report('restore_cpu_ms', 'restore() CPU time', lastCpuMs, 'ms');
}

// On a shared machine the figures scale with the CPU this process actually got.
const cpu = process.cpuUsage(cpuStart);
report('cpu_share', 'CPU share of one core during the run', ((cpu.user + cpu.system) / 1000) / (performance.now() - wallStart), '', 2);

mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/bench-broker.json', JSON.stringify({ messages: MESSAGES, batch: BATCH, bodyBytes: BODY, results }, null, 2));

console.log('\nsummary');
const width = Math.max(...rows.map(([l]) => l.length));
for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value.padStart(20)}`);
console.log('\nwrote bench-results/bench-broker.json');
