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
