import fc from 'fast-check';
import { Broker, encodeCommand, type Command, type CommandResult } from '../../src/broker/index.js';
import { MemoryLog } from './memory-log.js';
import { Model, type Result } from './model.js';

/**
 * The broker keeps bodies in the log and reads them back for answers; the model keeps
 * them in memory (the simple representation): both must agree on every answer, bodies
 * included. Random command sequences over a fixed cast: users alice (owner) and bob, queues
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

/** A producer's frames (README, Producers): sequences that repeat (resends), go back
 *  (out of order) and jump past the window, merged up to three in a command. */
const producerFrames = fc.uniqueArray(
  fc.record({ seq: fc.constantFrom(0, 1, 2, 3, 4, 5, 1027, 1028, 2100), b: fc.array(msg, { minLength: 1, maxLength: 2 }) }),
  { minLength: 1, maxLength: 3, selector: (f) => f.seq },
);
const producerOp = (kind: 'queue' | 'topic') =>
  fc.record({ dt, user: kind === 'queue' ? user : fc.constant('alice'), queue, id: fc.constantFrom('P', 'Q'), frames: producerFrames }).map(({ dt, user, queue, id, frames }) => {
    const messages = frames.flatMap((f) => (kind === 'queue' ? f.b : f.b.map(({ delayMs: _d, ...m }) => m)));
    const producer = { id, frames: frames.map((f) => ({ seq: f.seq, count: f.b.length })) };
    const batch = frames.length > 1 || messages.length > 1;
    return { kind: 'cmd' as const, dt, cmd: kind === 'queue'
      ? { type: 'queue.send', user, queue, messages, batch, producer }
      : { type: 'topic.publish', user, topic: 't', messages, batch, producer } };
  });

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: producerOp('queue') },
  { weight: 1, arbitrary: producerOp('topic') },
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

/** A relocation (README, Relocation) of what the broker offers below the current index,
 *  up to `maxBytes`: the model keeps bodies in memory and sees nothing of it. */
interface RelocateOp {
  kind: 'relocate';
  maxBytes: number;
}
const opOrRelocate: fc.Arbitrary<Op | RelocateOp> = fc.oneof(
  { weight: 12, arbitrary: op },
  { weight: 1, arbitrary: fc.constantFrom(1, 20, 1 << 20).map((maxBytes) => ({ kind: 'relocate' as const, maxBytes })) },
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

  /** An entry the test builds itself (a relocation) at the current time: keeps the
   *  indexes of later entries in step. */
  skip(): void {
    this.entries.push({ cmd: { type: 'tick' }, time: this.time });
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
  if (!r.ok) return { ok: false, code: r.error.code };
  const value = JSON.parse(JSON.stringify(r.value)) as { frames?: Array<{ ok: boolean; error?: { code: string } }> } | null;
  // A producer's frames: errors compared by code, as whole results are.
  if (value?.frames) value.frames = value.frames.map((f) => (f.ok ? f : { ok: false, code: f.error!.code }));
  return { ok: true, value };
}

/** A broker and the log it reads bodies from. */
class Replica {
  constructor(
    readonly broker = new Broker(),
    readonly log = new MemoryLog(),
  ) {}

  /** Another replica restored from this one's snapshot, with a copy of its log. */
  restored(): Replica {
    const b = new Broker();
    b.restore(this.broker.snapshot());
    return new Replica(b, this.log.copy());
  }
}

function applyAt(r: Replica, i: number, e: { cmd: Command; time: number }): CommandResult {
  const bytes = encodeCommand(e.cmd);
  r.log.add(i + 1, bytes);
  return r.broker.answer(r.broker.apply(bytes, { index: i + 1, term: 1, time: e.time }), r.log.read) as CommandResult;
}

describe('broker vs reference model', () => {
  test('random command sequences give the model\'s answers and final stats', () => {
    let deadLettered = 0;
    let delivered = 0;
    let relocated = 0;
    const producerAnswers = { replayed: 0, belowWindow: 0, merged: 0 };
    fc.assert(
      fc.property(fc.array(opOrRelocate, { minLength: 10, maxLength: 80, size: 'max' }), (ops) => {
        const replica = new Replica();
        const broker = replica.broker;
        const model = new Model();
        model.addQueue('d', 'alice', 1000, null, null);
        model.addQueue('q', 'alice', 1000, 2, 'd');
        model.addQueue('p', 'alice', 2000, null, null);
        const log = new Log();
        log.entries.forEach((e, i) => {
          const r = applyAt(replica, i, e);
          if (!r.ok) throw new Error(`setup failed: ${r.error.message}`);
          model.now = Math.max(model.now, e.time);
        });
        for (const o of ops) {
          if (o.kind === 'relocate') {
            const index = log.entries.length + 1;
            const candidates = broker.relocationCandidates(o.maxBytes, index);
            if (candidates.length === 0) continue;
            const bytes = broker.relocateCommand(candidates, replica.log.read);
            log.skip();
            replica.log.add(index, bytes);
            const r = broker.apply(bytes, { index, term: 1, time: log.entries[index - 1].time });
            expect(r).toEqual({ ok: true, value: { moved: candidates.length } });
            relocated += candidates.length;
            continue;
          }
          const e = log.next(o);
          const i = log.entries.length - 1;
          const got = applyAt(replica, i, e);
          const want = model.apply(e.cmd, i + 1, e.time);
          expect({ cmd: e.cmd, result: norm(got) }).toEqual({ cmd: e.cmd, result: want });
          log.observe(got);
          if ('producer' in e.cmd && e.cmd.producer !== undefined) {
            const text = JSON.stringify(got);
            if (text.includes('"deduplicated":true')) producerAnswers.replayed++;
            if (text.includes('sequence_below_window')) producerAnswers.belowWindow++;
            if (text.includes('"frames"')) producerAnswers.merged++;
          }
          if (got.ok && e.cmd.type.endsWith('.receive')) delivered += (got.value as { messages?: unknown[] } | null)?.messages?.length ?? 0;
        }
        // The log keeps only what retainFrom() asks for (a compaction), then everything
        // still stored is received: every body must still be readable, and equal.
        const counted = replica.restored();
        expect(broker.retainFrom()).toBe(counted.broker.retainFrom());
        replica.log.dropBelow(broker.retainFrom() ?? Number.MAX_SAFE_INTEGER);
        const drain: Command[] = [
          ...['q', 'd', 'p'].map((q): Command => ({ type: 'queue.receive', user: 'alice', queue: q, max: 100, visibilityTimeoutMs: 0 })),
          ...['s1', 's2'].map((sub): Command => ({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: sub, max: 100, visibilityTimeoutMs: 0 })),
        ];
        for (const cmd of drain) {
          const e = log.next({ kind: 'cmd', dt: 3_600_000, cmd });
          const i = log.entries.length - 1;
          expect({ cmd: e.cmd, result: norm(applyAt(replica, i, e)) }).toEqual({ cmd: e.cmd, result: model.apply(e.cmd, i + 1, e.time) });
        }
        deadLettered += model.deadLettered;
        for (const [name, ch] of model.queues) {
          expect((broker.getQueue('alice', name) as any).value.stats).toEqual(model.stats(ch));
        }
        const subs = (broker.listSubscriptions('alice', 't') as any).value.subscriptions;
        expect(subs.map((s: any) => [s.name, s.stats])).toEqual([...model.subs].map(([n, ch]) => [n, model.stats(ch)]));
        // Usage kept step by step equals usage counted afresh from the state.
        const recounted = replica.restored().broker;
        for (const user of ['alice', 'bob']) expect(broker.usageOf(user)).toEqual(recounted.usageOf(user));
        expect(broker.usageOf('alice').queuedBytes).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 150 },
    );
    // The sequences must actually exercise deliveries and dead-lettering.
    expect(delivered).toBeGreaterThan(150);
    expect(deadLettered).toBeGreaterThan(5);
    expect(relocated).toBeGreaterThan(20);
    // And producers' resends, refusals below the window and merged frames.
    expect(producerAnswers.replayed).toBeGreaterThan(50);
    expect(producerAnswers.belowWindow).toBeGreaterThan(20);
    expect(producerAnswers.merged).toBeGreaterThan(50);
  });

  test('snapshot and restore at a random point, then the rest: same answers and state hash', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), fc.nat(), (ops, cut) => {
        const a = new Replica();
        const log = new Log();
        log.entries.forEach((e, i) => applyAt(a, i, e));
        const at = ops.length === 0 ? 0 : cut % (ops.length + 1);
        for (const o of ops.slice(0, at)) {
          const e = log.next(o);
          log.observe(applyAt(a, log.entries.length - 1, e));
        }
        const b = a.restored();
        expect(b.broker.stateHash()).toBe(a.broker.stateHash());
        for (const o of ops.slice(at)) {
          const e = log.next(o);
          const i = log.entries.length - 1;
          const ra = applyAt(a, i, e);
          expect(applyAt(b, i, e)).toEqual(ra);
          log.observe(ra);
        }
        expect(b.broker.stateHash()).toBe(a.broker.stateHash());
        expect(b.broker.retainFrom()).toBe(a.broker.retainFrom());
        // A snapshot of the restored replica is byte-identical to the original's.
        expect(Buffer.from(b.broker.snapshot()).equals(Buffer.from(a.broker.snapshot()))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('two instances fed the same log agree entry by entry and end with the same hash', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), (ops) => {
        const a = new Replica();
        const b = new Replica();
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
        expect(a.broker.stateHash()).toBe(b.broker.stateHash());
      }),
      { numRuns: 100 },
    );
  });
});
