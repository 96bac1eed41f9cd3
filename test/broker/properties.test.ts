import fc from 'fast-check';
import { Broker, encodeCommand, type Command, type CommandResult } from '../../src/broker/index.js';
import { Model, type Result } from './model.js';

/**
 * Random command sequences over a fixed cast: users alice (owner) and bob, queues
 * q (lease 1 s, maxReceives 2, DLQ d), d and p, topic t with subscriptions s1 (DLQ d)
 * and s2 that come and go. Receipts are chosen at run time from those already seen.
 */
type Op =
  | { kind: 'cmd'; dt: number; key?: string; cmd: Record<string, unknown> }
  | { kind: 'receipts'; dt: number; key?: string; cmd: Record<string, unknown>; picks: number[]; single: boolean };

const user = fc.constantFrom('alice', 'alice', 'bob');
const queue = fc.constantFrom('q', 'q', 'q', 'd', 'p');
const sub = fc.constantFrom('s1', 's2');
const dt = fc.constantFrom(0, 0, 10, 400, 1000, 2500, 310_000);
const key = fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined, freq: 4 });
const msg = fc.record(
  {
    body: fc.string({ maxLength: 6 }),
    attributes: fc.dictionary(fc.constantFrom('a', 'b'), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
    delayMs: fc.constantFrom(0, 0, 0, 700, 1500),
    deduplicationId: fc.constantFrom('x', 'y'),
  },
  { requiredKeys: ['body'] },
);
const batch = fc.array(msg, { minLength: 1, maxLength: 3 });
const picks = fc.array(fc.nat(), { minLength: 1, maxLength: 3 });
const lease = fc.option(fc.constantFrom(0, 500, 3000), { nil: undefined });

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ dt, key, user, queue, b: batch }).map(({ dt, key, user, queue, b }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'queue.send', user, queue, messages: b, batch: b.length > 1 } })) },
  { weight: 5, arbitrary: fc.record({ dt, key, user, queue, max: fc.integer({ min: 1, max: 4 }), lease }).map(({ dt, key, user, queue, max, lease }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'queue.receive', user, queue, max, visibilityTimeoutMs: lease } })) },
  { weight: 4, arbitrary: fc.record({ dt, key, user, queue, picks }).map(({ dt, key, user, queue, picks }) =>
    ({ kind: 'receipts' as const, dt, key, picks, single: false, cmd: { type: 'queue.ack', user, queue } })) },
  { weight: 2, arbitrary: fc.record({ dt, key, user, queue, picks, delayMs: fc.constantFrom(0, 600) }).map(({ dt, key, user, queue, picks, delayMs }) =>
    ({ kind: 'receipts' as const, dt, key, picks, single: false, cmd: { type: 'queue.nack', user, queue, delayMs } })) },
  { weight: 1, arbitrary: fc.record({ dt, key, user, queue, picks, v: fc.constantFrom(0, 800, 5000) }).map(({ dt, key, user, queue, picks, v }) =>
    ({ kind: 'receipts' as const, dt, key, picks, single: true, cmd: { type: 'queue.visibility', user, queue, visibilityTimeoutMs: v } })) },
  { weight: 1, arbitrary: fc.record({ dt, key, user, queue }).map(({ dt, key, user, queue }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'queue.purge', user, queue } })) },
  { weight: 1, arbitrary: fc.record({ dt, key, user, queue, perms: fc.subarray(['send', 'receive']) }).map(({ dt, key, user, queue, perms }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'queue.grant', user, queue, username: 'bob', permissions: perms } })) },
  { weight: 1, arbitrary: fc.record({ dt, key, user, queue }).map(({ dt, key, user, queue }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'queue.revoke', user, queue, username: 'bob' } })) },
  { weight: 1, arbitrary: dt.map((dt) => ({ kind: 'cmd' as const, dt, cmd: { type: 'tick' } })) },
  { weight: 3, arbitrary: fc.record({ dt, key, b: batch }).map(({ dt, key, b }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: {
      type: 'topic.publish', user: 'alice', topic: 't', batch: b.length > 1,
      messages: b.map(({ delayMs: _d, ...m }) => m),
    } })) },
  { weight: 1, arbitrary: fc.record({ dt, sub }).map(({ dt, sub }) =>
    ({ kind: 'cmd' as const, dt, cmd: sub === 's1'
      ? { type: 'subscription.create', user: 'alice', topic: 't', name: 's1', ackTimeoutMs: 1000, maxDeliveries: 2, deadLetterQueue: 'd' }
      : { type: 'subscription.create', user: 'alice', topic: 't', name: 's2', ackTimeoutMs: 2000 } })) },
  { weight: 1, arbitrary: fc.record({ dt, sub }).map(({ dt, sub }) =>
    ({ kind: 'cmd' as const, dt, cmd: { type: 'subscription.delete', user: 'alice', topic: 't', subscription: sub } })) },
  { weight: 3, arbitrary: fc.record({ dt, key, sub, max: fc.integer({ min: 1, max: 3 }) }).map(({ dt, key, sub, max }) =>
    ({ kind: 'cmd' as const, dt, key, cmd: { type: 'subscription.receive', user: 'alice', topic: 't', subscription: sub, max } })) },
  { weight: 2, arbitrary: fc.record({ dt, key, sub, picks }).map(({ dt, key, sub, picks }) =>
    ({ kind: 'receipts' as const, dt, key, picks, single: false, cmd: { type: 'subscription.ack', user: 'alice', topic: 't', subscription: sub } })) },
  { weight: 1, arbitrary: fc.record({ dt, key, sub, picks }).map(({ dt, key, sub, picks }) =>
    ({ kind: 'receipts' as const, dt, key, picks, single: false, cmd: { type: 'subscription.nack', user: 'alice', topic: 't', subscription: sub, delayMs: 300 } })) },
);

const T0 = Date.UTC(2026, 0, 1);

const setup: Command[] = [
  { type: 'user.register', username: 'alice', passwordHash: 'ha' },
  { type: 'user.register', username: 'bob', passwordHash: 'hb' },
  { type: 'queue.create', user: 'alice', name: 'd', visibilityTimeoutMs: 1000 },
  { type: 'queue.create', user: 'alice', name: 'q', visibilityTimeoutMs: 1000, maxReceives: 2, deadLetterQueue: 'd' },
  { type: 'queue.create', user: 'alice', name: 'p', visibilityTimeoutMs: 2000 },
  { type: 'topic.create', user: 'alice', name: 't' },
];

/** Turns ops into concrete log entries, resolving receipt picks against receipts seen
 *  so far in `answers` (so both runs of a log see the very same commands). */
class Log {
  readonly entries: { cmd: Command; time: number }[] = [];
  private readonly receipts: string[] = ['zz.0'];
  private time = T0;

  constructor() {
    for (const cmd of setup) this.entries.push({ cmd, time: this.time });
  }

  next(o: Op): { cmd: Command; time: number } {
    this.time += o.dt;
    const cmd: Record<string, unknown> = { ...o.cmd };
    if (o.key !== undefined) cmd.idempotencyKey = o.key;
    if (o.kind === 'receipts') {
      const hs = o.picks.map((p) => this.receipts[p % this.receipts.length]);
      if (o.single) cmd.receiptHandle = hs[0];
      else cmd.receiptHandles = hs;
    }
    if (cmd.visibilityTimeoutMs === undefined) delete cmd.visibilityTimeoutMs;
    const e = { cmd: cmd as Command, time: this.time };
    this.entries.push(e);
    return e;
  }

  observe(r: CommandResult): void {
    const v = r.ok ? (r.value as { messages?: { receiptHandle?: string }[] } | null) : null;
    for (const m of v?.messages ?? []) if (m.receiptHandle !== undefined) this.receipts.push(m.receiptHandle);
  }
}

function norm(r: CommandResult): Result {
  return r.ok ? { ok: true, value: JSON.parse(JSON.stringify(r.value)) } : { ok: false, code: r.error.code };
}

function applyAt(b: Broker, i: number, e: { cmd: Command; time: number }): CommandResult {
  return b.apply(encodeCommand(e.cmd), { index: i + 1, term: 1, time: e.time });
}

describe('broker vs reference model', () => {
  test('random command sequences give the model\'s answers and final stats', () => {
    let deadLettered = 0;
    let delivered = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 80, size: 'max' }), (ops) => {
        const broker = new Broker();
        const model = new Model();
        model.addQueue('d', 'alice', 1000, null, null);
        model.addQueue('q', 'alice', 1000, 2, 'd');
        model.addQueue('p', 'alice', 2000, null, null);
        const log = new Log();
        log.entries.forEach((e, i) => {
          const r = applyAt(broker, i, e);
          if (!r.ok) throw new Error(`setup failed: ${r.error.message}`);
          model.now = Math.max(model.now, e.time);
        });
        for (const o of ops) {
          const e = log.next(o);
          const i = log.entries.length - 1;
          const got = applyAt(broker, i, e);
          const want = model.apply(e.cmd, i + 1, e.time);
          expect({ cmd: e.cmd, result: norm(got) }).toEqual({ cmd: e.cmd, result: want });
          log.observe(got);
          if (got.ok && e.cmd.type.endsWith('.receive')) delivered += (got.value as { messages?: unknown[] } | null)?.messages?.length ?? 0;
        }
        deadLettered += model.deadLettered;
        for (const [name, ch] of model.queues) {
          expect((broker.getQueue('alice', name) as any).value.stats).toEqual(model.stats(ch));
        }
        const subs = (broker.listSubscriptions('alice', 't') as any).value.subscriptions;
        expect(subs.map((s: any) => [s.name, s.stats])).toEqual([...model.subs].map(([n, ch]) => [n, model.stats(ch)]));
        // Usage kept step by step equals usage counted afresh from the state.
        const counted = new Broker();
        counted.restore(broker.snapshot());
        for (const user of ['alice', 'bob']) expect(broker.usageOf(user)).toEqual(counted.usageOf(user));
        expect(broker.usageOf('alice').queuedBytes).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 150 },
    );
    // The sequences must actually exercise deliveries and dead-lettering.
    expect(delivered).toBeGreaterThan(150);
    expect(deadLettered).toBeGreaterThan(5);
  });

  test('snapshot and restore at a random point, then the rest: same answers and state hash', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), fc.nat(), (ops, cut) => {
        const a = new Broker();
        const log = new Log();
        log.entries.forEach((e, i) => applyAt(a, i, e));
        const at = ops.length === 0 ? 0 : cut % (ops.length + 1);
        for (const o of ops.slice(0, at)) {
          const e = log.next(o);
          log.observe(applyAt(a, log.entries.length - 1, e));
        }
        const b = new Broker();
        b.restore(a.snapshot());
        expect(b.stateHash()).toBe(a.stateHash());
        for (const o of ops.slice(at)) {
          const e = log.next(o);
          const i = log.entries.length - 1;
          const ra = applyAt(a, i, e);
          expect(applyAt(b, i, e)).toEqual(ra);
          log.observe(ra);
        }
        expect(b.stateHash()).toBe(a.stateHash());
        // A snapshot of the restored replica is byte-identical to the original's.
        expect(Buffer.from(b.snapshot()).equals(Buffer.from(a.snapshot()))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('two instances fed the same log agree entry by entry and end with the same hash', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), (ops) => {
        const a = new Broker();
        const b = new Broker();
        const log = new Log();
        log.entries.forEach((e, i) => {
          applyAt(a, i, e);
          applyAt(b, i, e);
        });
        for (const o of ops) {
          const e = log.next(o);
          const i = log.entries.length - 1;
          const ra = applyAt(a, i, e);
          expect(applyAt(b, i, e)).toEqual(ra);
          log.observe(ra);
        }
        expect(a.stateHash()).toBe(b.stateHash());
      }),
      { numRuns: 100 },
    );
  });
});
