// What relocation costs the broker with a large backlog (src/broker/README.md,
// Relocation): enqueues N 1 KiB messages (binary sends of 100), then times choosing
// candidates (the leader, every check) and applying one messages.relocate of them (every
// replica). Median of 5 rounds each.
//   node --import tsx scripts/bench-relocate.ts [--messages N]
import { performance } from 'node:perf_hooks';
import { Broker, encodeCommand, type Command } from '../src/broker/index.js';

const i = process.argv.indexOf('--messages');
const MESSAGES = i >= 0 ? Number(process.argv[i + 1]) : 1_000_000;
const BATCH = 100;
const entries = new Map<number, Uint8Array>();
const broker = new Broker();
let index = 0;
const apply = (bytes: Uint8Array, keep: boolean) => {
  index++;
  if (keep) entries.set(index, bytes);
  return broker.apply(bytes, { index, term: 1, time: 1_000 });
};
const setup: Command[] = [
  { type: 'user.register', username: 'u', passwordHash: 'h' },
  { type: 'queue.create', user: 'u', name: 'q' },
];
for (const c of setup) apply(encodeCommand(c), true);
const send = encodeCommand({
  type: 'queue.send', user: 'u', queue: 'q', batch: true,
  messages: Array.from({ length: BATCH }, (_, k) => ({ body: String(k).padEnd(1024, 'x') })),
});
// Only the oldest entries are read back (the candidates); the rest need not be kept.
for (let n = 0; n < MESSAGES; n += BATCH) apply(send, n < 100 * BATCH);

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const choose: number[] = [];
const relocate: number[] = [];
let moved = 0;
for (let round = 0; round < 5; round++) {
  let t = performance.now();
  const candidates = broker.relocationCandidates(4 * 2 ** 20, index + 1);
  choose.push(performance.now() - t);
  const bytes = broker.relocateCommand(candidates, (k) => entries.get(k));
  t = performance.now();
  const r = apply(bytes, true) as { ok: boolean; value: { moved: number } };
  relocate.push(performance.now() - t);
  moved = r.value.moved;
}
console.log(JSON.stringify({
  queued: MESSAGES, movedPerRelocate: moved,
  candidatesMs: +median(choose).toFixed(2), applyRelocateMs: +median(relocate).toFixed(2),
}));
