import type { Command } from '../../src/broker/index.js';
import { Harness } from './harness.js';

function setup(): Harness {
  const h = new Harness();
  h.register('alice', 'bob', 'carol');
  h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
  return h;
}

const sendAs = (user: string): Command => ({ type: 'queue.send', user, queue: 'q', messages: [{ body: 'm' }], batch: false });
const receiveAs = (user: string): Command => ({ type: 'queue.receive', user, queue: 'q', max: 10 });

describe('queue grants', () => {
  test('only the owner deletes, purges, grants and revokes', () => {
    const h = setup();
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send', 'receive'] });
    h.fails({ type: 'queue.delete', user: 'bob', queue: 'q' }, 'forbidden');
    h.fails({ type: 'queue.purge', user: 'bob', queue: 'q' }, 'forbidden');
    h.fails({ type: 'queue.grant', user: 'bob', queue: 'q', username: 'carol', permissions: ['send'] }, 'forbidden');
    h.fails({ type: 'queue.revoke', user: 'bob', queue: 'q', username: 'bob' }, 'forbidden');
  });

  test('without a grant others can neither send, receive, ack nor see the queue', () => {
    const h = setup();
    h.fails(sendAs('bob'), 'forbidden');
    h.fails(receiveAs('bob'), 'forbidden');
    h.fails({ type: 'queue.ack', user: 'bob', queue: 'q', receiptHandles: ['1.0'] }, 'forbidden');
    expect(h.broker.getQueue('bob', 'q')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(h.broker.listQueues('bob')).toEqual({ ok: true, value: { queues: [] } });
    expect(h.broker.getQueue('bob', 'nope')).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  test('send and receive grants are separate; PUT replaces the set', () => {
    const h = setup();
    expect(h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] }))
      .toEqual({ username: 'bob', permissions: ['send'] });
    h.ok(sendAs('bob'));
    h.fails(receiveAs('bob'), 'forbidden');
    expect(h.broker.listQueues('bob')).toMatchObject({ ok: true, value: { queues: [{ name: 'q' }] } });
    expect(h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['receive', 'receive'] }))
      .toEqual({ username: 'bob', permissions: ['receive'] });
    h.fails(sendAs('bob'), 'forbidden');
    expect(h.ok(receiveAs('bob')).messages).toHaveLength(1);
  });

  test('granting to an unknown user is not_found', () => {
    const h = setup();
    h.fails({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'nobody', permissions: ['send'] }, 'not_found');
  });

  test('a grant revoked while messages are in flight: acks are refused, the lease runs out', () => {
    const h = setup();
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['receive'] });
    h.ok(sendAs('alice'));
    const [m] = h.ok(receiveAs('bob')).messages;
    expect(h.ok({ type: 'queue.revoke', user: 'alice', queue: 'q', username: 'bob' })).toBeNull();
    h.fails({ type: 'queue.ack', user: 'bob', queue: 'q', receiptHandles: [m.receiptHandle] }, 'forbidden');
    h.fails({ type: 'queue.visibility', user: 'bob', queue: 'q', receiptHandle: m.receiptHandle, visibilityTimeoutMs: 1 }, 'forbidden');
    h.advance(30_000);
    const [again] = h.ok(receiveAs('alice')).messages;
    expect(again).toMatchObject({ id: m.id, receiveCount: 2 });
    // The owner can always ack.
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [again.receiptHandle] })).toEqual({ acked: 1, unknown: [] });
  });

  test('revoking a user without a grant is fine (204)', () => {
    const h = setup();
    expect(h.ok({ type: 'queue.revoke', user: 'alice', queue: 'q', username: 'carol' })).toBeNull();
  });
});
