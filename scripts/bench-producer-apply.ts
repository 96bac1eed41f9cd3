// Apply CPU per message of the stream's resend guards (src/broker/README.md, Producers):
// entries of 100 single-message frames, as the stream commits them, guarded by a
// producer's sequences, by a deduplicationId per message, or by nothing. Entries are
// encoded before the clock starts; what is timed is Broker.apply, what every replica
// pays. Prints the median of --rounds rounds of --entries entries for each guard, the
// guards taken in the order given (run it twice in opposite orders for A/B pairs).
//   node --import tsx scripts/bench-producer-apply.ts [--order none,producer,dedup] [--rounds 5] [--entries 2000]
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Broker, encodeCommand, type Command } from '../src/broker/index.js';
import { argValue, numberArg } from './lib/script-args.js';

const ORDER = argValue('--order', 'none,producer,dedup').split(',');
const ROUNDS = numberArg('--rounds', 5);
const ENTRIES = numberArg('--entries', 2000);
const PER_ENTRY = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function run(guard: string): number {
  const broker = new Broker();
  let index = 0;
  let time = Date.UTC(2026, 0, 1);
  const apply = (bytes: Uint8Array): void => {
    const r = broker.apply(bytes, { index: ++index, term: 1, time });
    if (!r.ok) throw new Error(r.error.message);
  };
  apply(encodeCommand({ type: 'user.register', username: 'bench', passwordHash: 'h' }));
  apply(encodeCommand({ type: 'queue.create', user: 'bench', name: 'q' }));
  const id = randomBytes(16).toString('base64url');
  const prefix = randomBytes(9).toString('base64url');
  let seq = 0;
  const perMessage: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const entries: Uint8Array[] = [];
    for (let e = 0; e < ENTRIES; e++) {
      const messages = Array.from({ length: PER_ENTRY }, (_, k) => ({
        body: 'x'.repeat(64),
        ...(guard === 'dedup' && { deduplicationId: `${prefix}.${seq + k}` }),
      }));
      const c: Command = { type: 'queue.send', user: 'bench', queue: 'q', batch: true, messages };
      if (guard === 'producer') c.producer = { id, frames: messages.map((_, k) => ({ seq: seq + k, count: 1 })) };
      seq += PER_ENTRY;
      entries.push(encodeCommand(c));
    }
    const started = performance.now();
    for (const bytes of entries) {
      time += 4;
      apply(bytes);
    }
    perMessage.push(((performance.now() - started) * 1000) / (ENTRIES * PER_ENTRY));
    // Keep the queue from growing without bound between rounds.
    apply(encodeCommand({ type: 'queue.purge', user: 'bench', queue: 'q' }));
  }
  return median(perMessage);
}

for (const guard of ORDER) console.log(`${guard}: ${run(guard).toFixed(3)} µs/msg apply (median of ${ROUNDS} rounds of ${ENTRIES * PER_ENTRY} messages)`);
