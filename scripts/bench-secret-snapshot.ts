// A/B micro measurements of two costs outside apply: a secret digest (two per gRPC
// message, src/node/secret-compare.ts) and a snapshot of 1,000 idempotency records of
// 100-message sends (src/broker/idempotency.ts). CPU time, median of 5 rounds.
//   node --import tsx scripts/bench-secret-snapshot.ts [<src dir of a checkout>]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface BrokerLike {
  apply(bytes: Uint8Array, ctx: { index: number; term: number; time: number }): { ok: boolean };
  snapshot(): Uint8Array;
}

const root = resolve(process.argv[2] ?? 'src');
const sc = (await import(pathToFileURL(join(root, 'node/secret-compare.ts')).href)) as { secretDigest(s: string): Buffer };
const br = (await import(pathToFileURL(join(root, 'broker/index.ts')).href)) as {
  Broker: new () => BrokerLike;
  encodeCommand(c: unknown): Uint8Array;
};

const cpuUs = (f: () => void): number => {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return u.user + u.system;
};
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const token = 'c'.repeat(64);
const digestUs = median(Array.from({ length: 5 }, () => cpuUs(() => {
  for (let i = 0; i < 100_000; i++) sc.secretDigest(token);
}) / 100_000));

const broker = new br.Broker();
let index = 0;
const apply = (c: unknown): void => {
  const r = broker.apply(br.encodeCommand(c), { index: ++index, term: 1, time: Date.UTC(2026, 0, 1) });
  if (!r.ok) throw new Error(JSON.stringify(r));
};
apply({ type: 'user.register', username: 'u', passwordHash: 'x' });
apply({ type: 'queue.create', user: 'u', name: 'q' });
for (let k = 0; k < 1000; k++) {
  apply({ type: 'queue.send', user: 'u', queue: 'q', batch: true, idempotencyKey: `fill-${k}`, messages: Array.from({ length: 100 }, () => ({ body: 'm' })) });
}
broker.snapshot();
const snapshotUs = median(Array.from({ length: 5 }, () => cpuUs(() => broker.snapshot())));
console.log(JSON.stringify({ root, secretDigestUs: digestUs.toFixed(3), snapshotOf1000RecordsMs: (snapshotUs / 1000).toFixed(2) }));
