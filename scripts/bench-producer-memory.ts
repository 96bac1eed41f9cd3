// What the stream's resend guards cost the broker (src/broker/README.md, Producers): N
// sends of one small message each, merged 100 to an entry as the stream commits them,
// at a replicated clock running at --rate messages a second, guarded by
//   --guard producer  one producer, consecutive sequences (the StreamClient's default);
//   --guard dedup     a generated deduplicationId per message (the default before);
//   --guard none      nothing (the baseline: what the messages alone cost).
// Prints the JS heap and the typed arrays' memory (outside the heap: the queue's message
// columns, the producers' rings) beyond the baseline after a full GC at every tenth of
// the run; with --producers P, what each of P producers with full windows costs, their
// frames published to a topic without subscriptions (which keeps no message) so that
// only the producers count.
//   node --expose-gc --import tsx scripts/bench-producer-memory.ts --guard producer [--messages N] [--rate R]
//   node --expose-gc --import tsx scripts/bench-producer-memory.ts --producers 1000
import { randomBytes } from 'node:crypto';
import { Broker, encodeCommand, PRODUCER_WINDOW, type Command } from '../src/broker/index.js';
import { argValue, exposedGc, numberArg } from './lib/script-args.js';

const gc = exposedGc();
const MESSAGES = numberArg('--messages', 1_000_000);
const RATE = numberArg('--rate', 24_000);
const GUARD = argValue('--guard', 'producer');
const PRODUCERS = numberArg('--producers', 0);
const PER_ENTRY = 100;

function memory(): { heap: number; buffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

const broker = new Broker();
let index = 0;
let time = Date.UTC(2026, 0, 1);
function apply(command: Command): void {
  const r = broker.apply(encodeCommand(command), { index: ++index, term: 1, time });
  if (!r.ok) throw new Error(r.error.message);
}
apply({ type: 'user.register', username: 'bench', passwordHash: 'h' });
apply({ type: 'queue.create', user: 'bench', name: 'q' });
apply({ type: 'topic.create', user: 'bench', name: 't' });
apply({ type: 'cluster.limits', limits: { ...broker.limits(), producersPerUser: Math.max(1_000, PRODUCERS) } });

/** One entry: `n` single-message frames of producer `id` from sequence `seq` on (or
 *  under the chosen guard). */
function entry(n: number, seq: number, id: string, guard: string, dedupPrefix: string, toTopic = false): Command {
  const messages = Array.from({ length: n }, (_, k) => ({
    body: `m${seq + k}`,
    ...(guard === 'dedup' && { deduplicationId: `${dedupPrefix}.${seq + k}` }),
  }));
  const c: Command = toTopic
    ? { type: 'topic.publish', user: 'bench', topic: 't', batch: true, messages }
    : { type: 'queue.send', user: 'bench', queue: 'q', batch: true, messages };
  if (guard === 'producer') c.producer = { id, frames: messages.map((_, k) => ({ seq: seq + k, count: 1 })) };
  return c;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

if (PRODUCERS > 0) {
  const base = memory();
  for (let p = 0; p < PRODUCERS; p++) {
    const id = randomBytes(16).toString('base64url');
    for (let seq = 0; seq < PRODUCER_WINDOW; seq += PER_ENTRY) apply(entry(Math.min(PER_ENTRY, PRODUCER_WINDOW - seq), seq, id, 'producer', '', true));
  }
  const end = memory();
  const heap = end.heap - base.heap;
  const buffers = end.buffers - base.buffers;
  console.log(`${PRODUCERS} producers with full windows (${PRODUCER_WINDOW} one-message frames each): heap +${mib(heap)}, typed arrays +${mib(buffers)}: ${((heap + buffers) / PRODUCERS).toFixed(0)} B per producer (${(heap / PRODUCERS).toFixed(0)} heap + ${(buffers / PRODUCERS).toFixed(0)} typed arrays)`);
} else {
  const id = randomBytes(16).toString('base64url');
  const dedupPrefix = randomBytes(9).toString('base64url');
  const base = memory();
  const step = MESSAGES / 10;
  console.log(`guard ${GUARD}: ${MESSAGES} sends, ${PER_ENTRY} per entry, replicated clock at ${RATE} msg/s`);
  for (let sent = 0; sent < MESSAGES; sent += PER_ENTRY) {
    time += (PER_ENTRY / RATE) * 1000;
    apply(entry(PER_ENTRY, sent, id, GUARD, dedupPrefix));
    if ((sent + PER_ENTRY) % step === 0) {
      const now = memory();
      const heap = now.heap - base.heap;
      console.log(`  after ${sent + PER_ENTRY}: heap +${mib(heap)} (${(heap / (sent + PER_ENTRY)).toFixed(1)} B/msg), typed arrays +${mib(now.buffers - base.buffers)}`);
    }
  }
}
