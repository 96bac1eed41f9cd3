import type { Command } from '../../src/broker/index.js';
import { Harness } from './harness.js';

function setup(): Harness {
  const h = new Harness();
  h.register('alice', 'bob');
  h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
  return h;
}

describe('idempotency keys', () => {
  test('a repeat within 10 minutes answers the first result and changes nothing', () => {
    const h = setup();
    const cmd: Command = { type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false, idempotencyKey: 'k1' };
    const first = h.apply(cmd);
    h.advance(599_999);
    const again = h.apply(cmd);
    // The replay names the command that first gave the answer.
    expect(again).toEqual({ ...first, replayOf: 'queue.send' });
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 1 } } });
    expect(h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 10 }).messages).toHaveLength(1);
  });

  test('after 10 minutes the key is forgotten', () => {
    const h = setup();
    const cmd: Command = { type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false, idempotencyKey: 'k1' };
    const first = h.ok(cmd);
    h.advance(600_000);
    const second = h.ok(cmd);
    expect(second.id).not.toBe(first.id);
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 2 } } });
  });

  test('a repeated receive hands back the same messages and receipts, leasing nothing more', () => {
    const h = setup();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }, { body: 'b' }], batch: true });
    const cmd: Command = { type: 'queue.receive', user: 'alice', queue: 'q', max: 1, idempotencyKey: 'r' };
    const first = h.ok(cmd);
    const again = h.ok(cmd);
    expect(again).toEqual(first);
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 1, inflight: 1 } } });
  });

  test('errors are remembered too (same status, same body)', () => {
    const h = setup();
    const cmd: Command = { type: 'queue.create', user: 'alice', name: 'q', idempotencyKey: 'c' };
    const first = h.apply(cmd);
    expect(first).toMatchObject({ ok: false, error: { code: 'conflict' } });
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'q' });
    expect(h.apply(cmd)).toEqual({ ...first, replayOf: 'queue.create' });
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  test('a key reused by another kind of command answers the first one and changes nothing', () => {
    const h = setup();
    const sent = h.apply({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false, idempotencyKey: 'k' });
    const purge = h.apply({ type: 'queue.purge', user: 'alice', queue: 'q', idempotencyKey: 'k' });
    expect(purge).toEqual({ ...sent, replayOf: 'queue.send' });
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 1 } } });
  });

  test('keys are per user', () => {
    const h = setup();
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] });
    const a = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false, idempotencyKey: 'same' });
    const b = h.ok({ type: 'queue.send', user: 'bob', queue: 'q', messages: [{ body: 'b' }], batch: false, idempotencyKey: 'same' });
    expect(b.id).not.toBe(a.id);
  });

  test('a register never reads or fills an idempotency record, even from an old log entry carrying a key', () => {
    const h = setup();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'secret' }], batch: false });
    const received = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 1, idempotencyKey: 'k' });
    // A register that names alice and her key (as logs written before the fix may hold)
    // is just a register: 409, not alice's receive answer.
    const replayAttempt = { type: 'user.register', username: 'alice', passwordHash: 'h', idempotencyKey: 'k' } as unknown as Command;
    h.fails(replayAttempt, 'conflict');
    // Nor can a register plant a record that alice's own later write would hit.
    const planted = { type: 'user.register', username: 'alice', passwordHash: 'h', idempotencyKey: 'fresh' } as unknown as Command;
    h.fails(planted, 'conflict');
    const sent = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'b' }], batch: false, idempotencyKey: 'fresh' });
    expect(sent.id).toBeDefined();
    // Her own repeat still replays her answer.
    expect(h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 1, idempotencyKey: 'k' })).toEqual(received);
  });

  test('a register is not made exactly-once by a key: the repeat is a conflict', () => {
    const h = new Harness();
    const cmd = { type: 'user.register', username: 'zed', passwordHash: 'h', idempotencyKey: 'reg' } as unknown as Command;
    expect(h.ok(cmd)).toEqual({ username: 'zed' });
    h.fails(cmd, 'conflict');
    expect(h.broker.getUser('zed')).toEqual({ username: 'zed', passwordHash: 'h' });
  });
});

describe('idempotency records are bounded and hold no bodies', () => {
  const receiveKeyed = (key: string, max = 3): Command => ({
    type: 'queue.receive', user: 'alice', queue: 'q', max, visibilityTimeoutMs: 0, idempotencyKey: key,
  });

  test('past 10,000 records of one user the oldest are evicted and no longer replayed; others keep theirs', () => {
    const h = setup();
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] });
    const bobFirst = h.ok({ type: 'queue.send', user: 'bob', queue: 'q', messages: [{ body: 'b' }], batch: false, idempotencyKey: 'k0' });
    const send = (key: string): Command => ({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'x' }], batch: false, idempotencyKey: key });
    const first = h.ok(send('k0'));
    for (let i = 1; i <= 10_000; i++) h.ok(send(`k${i}`));
    expect(h.broker.idempotencyUsage('alice').records).toBe(10_000);
    // k0 was the oldest: evicted, so a retry is a new send.
    expect(h.ok(send('k0')).id).not.toBe(first.id);
    // The newest is still replayed; bob's record is his own and untouched.
    const last = h.apply(send('k10000'));
    expect(last).toMatchObject({ ok: true, replayOf: 'queue.send' });
    expect(h.apply({ type: 'queue.send', user: 'bob', queue: 'q', messages: [{ body: 'b' }], batch: false, idempotencyKey: 'k0' }))
      .toEqual({ ok: true, value: bobFirst, replayOf: 'queue.send' });
    expect(h.broker.idempotencyUsage('bob').records).toBe(1);
  });

  test('the byte bound evicts too, and a record bigger than the bound is not kept', () => {
    const h = setup();
    h.limits({ idempotencyBytesPerUser: 2_000 });
    const create = (key: string, name: string): Command => ({ type: 'queue.create', user: 'alice', name, idempotencyKey: key });
    for (let i = 0; i < 20; i++) h.ok(create(`c${i}`, `q${i}`));
    const used = h.broker.idempotencyUsage('alice');
    expect(used.bytes).toBeLessThanOrEqual(2_000);
    expect(used.records).toBeGreaterThan(1);
    expect(used.records).toBeLessThan(20);
    // The newest is replayed, the oldest is gone (a retry now conflicts: the queue exists).
    expect(h.apply(create('c19', 'q19'))).toMatchObject({ ok: true, replayOf: 'queue.create' });
    expect(h.apply(create('c0', 'q0'))).toMatchObject({ ok: false, error: { code: 'conflict' } });

    h.limits({ idempotencyBytesPerUser: 100 });
    h.ok(create('big', 'qbig'));
    expect(h.apply(create('big', 'qbig'))).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  test('receive answers with large bodies cost neither memory nor snapshot bytes per record', () => {
    const h = setup();
    const body = 'b'.repeat(200 * 1024);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: [{ body }, { body }, { body }] });
    const stored = h.broker.snapshot().length;
    // The bodies are in the log, not in the image.
    expect(stored).toBeLessThan(4096);

    // Each receive leases the same three 200 KiB messages again (visibility 0).
    for (let i = 0; i < 200; i++) expect(h.ok(receiveKeyed(`r${i}`)).messages).toHaveLength(3);
    // Kept whole, these answers would be 200 x 600 KiB; by reference they are receipts.
    expect(h.broker.snapshot().length - stored).toBeLessThan(200 * 200);
    expect(h.broker.idempotencyUsage('alice').bytes).toBeLessThan(200 * 300);

    for (let i = 200; i < 10_500; i++) h.ok(receiveKeyed(`r${i}`));
    const used = h.broker.idempotencyUsage('alice');
    expect(used.records).toBe(10_000);
    expect(used.bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(h.broker.snapshot().length - stored).toBeLessThan(10_000 * 200);
  });

  test('a replayed receive answers only the leases that still run, and leases nothing', () => {
    const h = setup();
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['receive'] });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: [{ body: 'a', attributes: { k: 'v' } }, { body: 'b' }, { body: 'c' }, { body: 'd' }] });
    const cmd: Command = { type: 'queue.receive', user: 'alice', queue: 'q', max: 3, visibilityTimeoutMs: 60_000, idempotencyKey: 'r' };
    const first = h.ok(cmd).messages;
    expect(first.map((m: { body: string }) => m.body)).toEqual(['a', 'b', 'c']);
    expect(h.ok(cmd).messages).toEqual(first);

    // a is acked; b is released and leased again by bob; c's lease still runs.
    h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [first[0].receiptHandle] });
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [first[1].receiptHandle] });
    const bobs = h.ok({ type: 'queue.receive', user: 'bob', queue: 'q', max: 1 }).messages;
    expect(bobs[0].body).toBe('b');
    const stats = h.broker.getQueue('alice', 'q');

    const replay = h.apply(cmd);
    expect(replay).toEqual({ ok: true, value: { messages: [first[2]] }, replayOf: 'queue.receive' });
    // Nothing was leased or released by the replay; bob's lease is not in it.
    expect(h.broker.getQueue('alice', 'q')).toEqual(stats);
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 1, inflight: 2 } } });

    // A restored replica answers the same replay.
    const copy = h.restored();
    expect(copy.apply(cmd)).toEqual(replay);

    // Once the queue is gone (or replaced), the replay lists nothing.
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'q' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    expect(h.apply(cmd)).toEqual({ ok: true, value: { messages: [] }, replayOf: 'queue.receive' });
  });
});
