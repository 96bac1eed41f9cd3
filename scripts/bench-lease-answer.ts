// What the leader's REST layer pays per receive and per ack beyond Raft and the broker,
// for the pieces written by hand (src/api/received-json.ts, src/api/lease-bodies.ts)
// against what they replace: the JSON of a receive answer of --take messages of 1 KiB
// (JSON.stringify against receivedJson), and the checks of a receive body and of an
// ack of --take handles (zod's schemas against the hand checks). CPU time per call,
// the median of --rounds rounds, the two sides alternating within each round.
//   node --import tsx scripts/bench-lease-answer.ts [--take 10] [--rounds 7] [--calls 20000]
import { parseAckBody, parseReceiveBody } from '../src/api/lease-bodies.js';
import { receivedJson } from '../src/api/received-json.js';
import { AckBody, ReceiveBody } from '../src/api/schemas.js';
import type { ReceivedView } from '../src/broker/index.js';
import { numberArg } from './lib/script-args.js';

const TAKE = numberArg('--take', 10);
const ROUNDS = numberArg('--rounds', 7);
const CALLS = numberArg('--calls', 20000);

// Bodies as the leader has them: decoded from a buffer, one distinct string each.
const bytes = Buffer.from('m'.repeat(1024 * TAKE));
const messages: ReceivedView[] = Array.from({ length: TAKE }, (_, i) => ({
  id: `01JBX${String(i).padStart(21, '0')}`,
  body: bytes.toString('utf8', i * 1024, (i + 1) * 1024),
  attributes: {},
  receiptHandle: `AbCdEfGhIjKlMnOpQrStUv${i}`,
  receiveCount: 1,
  sentAt: new Date(1_700_000_000_000 + i).toISOString(),
}));
const ackJson = JSON.stringify({ receiptHandles: messages.map((m) => m.receiptHandle) });
const receiveJson = JSON.stringify({ max: TAKE, waitMs: 0 });

/** CPU µs per call of `f` over CALLS calls (each call gets freshly parsed JSON where it takes any). */
function cpuPerCall(f: () => unknown): number {
  const start = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < CALLS; i++) sink += f() === undefined ? 0 : 1;
  const used = process.cpuUsage(start);
  if (sink !== CALLS) throw new Error('a call returned nothing');
  return (used.user + used.system) / CALLS;
}

const pairs: Array<[string, () => unknown, () => unknown]> = [
  [`receive answer of ${TAKE} x 1 KiB`, () => JSON.stringify({ messages }), () => receivedJson(messages)],
  [`ack body of ${TAKE} handles (JSON.parse + check)`, () => AckBody.parse(JSON.parse(ackJson)), () => parseAckBody(JSON.parse(ackJson))],
  ['receive body (JSON.parse + check)', () => ReceiveBody.parse(JSON.parse(receiveJson)), () => parseReceiveBody(JSON.parse(receiveJson))],
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, before, after] of pairs) {
  if (JSON.stringify(before()) !== JSON.stringify(after())) throw new Error(`${name}: the two sides disagree`);
  cpuPerCall(before);
  cpuPerCall(after);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(cpuPerCall(before));
      b.push(cpuPerCall(after));
    } else {
      b.push(cpuPerCall(after));
      a.push(cpuPerCall(before));
    }
  }
  process.stdout.write(`${name}: ${median(a).toFixed(2)} -> ${median(b).toFixed(2)} µs per call (median of ${ROUNDS} alternating rounds)\n`);
}
