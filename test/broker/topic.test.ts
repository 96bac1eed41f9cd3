import { Harness } from './harness.js';

function setup(opts: Record<string, unknown> = {}): Harness {
  const h = new Harness();
  h.register('alice', 'bob', 'carol');
  h.ok({ type: 'topic.create', user: 'alice', name: 't', ...opts });
  return h;
}

function publish(h: Harness, bodies: string[], user = 'alice'): string[] {
  return h.ok({ type: 'topic.publish', user, topic: 't', messages: bodies.map((body) => ({ body })), batch: true })
    .messages.map((m: { id: string }) => m.id);
}

function subscribe(h: Harness, name: string, user = 'alice', opts: Record<string, unknown> = {}): any {
  return h.ok({ type: 'subscription.create', user, topic: 't', name, ...opts });
}

function receive(h: Harness, sub: string, user = 'alice', max = 10, extra: Record<string, unknown> = {}): any[] {
  return h.ok({ type: 'subscription.receive', user, topic: 't', subscription: sub, max, ...extra }).messages;
}

describe('topics', () => {
  test('create answers the Topic body; names are unique', () => {
    const h = setup({ public: true });
    expect(h.broker.getTopic('bob', 't')).toEqual({
      ok: true,
      value: {
        name: 't', owner: 'alice', createdAt: new Date(h.time).toISOString(), public: true,
        retentionMs: 604800000, stats: { subscriptions: 0, retained: 0 },
      },
    });
    h.fails({ type: 'topic.create', user: 'bob', name: 't' }, 'conflict');
  });

  test('every subscription created before a publish gets it, in order; later ones do not', () => {
    const h = setup();
    publish(h, ['before']);
    subscribe(h, 's1');
    const ids = publish(h, ['a', 'b']);
    subscribe(h, 's2');
    publish(h, ['c']);
    expect(receive(h, 's1').map((m) => m.body)).toEqual(['a', 'b', 'c']);
    expect(receive(h, 's2').map((m) => m.body)).toEqual(['c']);
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 0 } } });
    expect(ids[0]).not.toBe(ids[1]);
  });

  test('each message is stored once however many subscriptions there are', () => {
    const h = setup();
    for (let i = 0; i < 5; i++) subscribe(h, `s${i}`);
    publish(h, ['a', 'b', 'c']);
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { subscriptions: 5, retained: 3 } } });
    for (let i = 0; i < 4; i++) receive(h, `s${i}`);
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 3 } } });
    receive(h, 's4');
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 0 } } });
  });

  test('subscriptions have independent leases, acks and redelivery', () => {
    const h = setup();
    subscribe(h, 's1', 'alice', { ackTimeoutMs: 1000 });
    subscribe(h, 's2', 'alice', { ackTimeoutMs: 5000 });
    const [id] = publish(h, ['x']);
    const [m1] = receive(h, 's1');
    const [m2] = receive(h, 's2');
    expect(m1.id).toBe(id);
    expect(m2.id).toBe(id);
    expect(h.ok({ type: 'subscription.ack', user: 'alice', topic: 't', subscription: 's2', receiptHandles: [m2.receiptHandle] }))
      .toEqual({ acked: 1, unknown: [] });
    // A receipt of s1 means nothing to s2.
    expect(h.ok({ type: 'subscription.ack', user: 'alice', topic: 't', subscription: 's2', receiptHandles: [m1.receiptHandle] }))
      .toEqual({ acked: 0, unknown: [m1.receiptHandle] });
    h.advance(1000);
    expect(receive(h, 's1')).toMatchObject([{ id, receiveCount: 2 }]);
    h.advance(10_000);
    expect(receive(h, 's2')).toEqual([]);
  });

  test('nack with delay and visibility work on subscriptions', () => {
    const h = setup();
    subscribe(h, 's');
    publish(h, ['a', 'b']);
    const [a] = receive(h, 's', 'alice', 1);
    h.ok({ type: 'subscription.nack', user: 'alice', topic: 't', subscription: 's', receiptHandles: [a.receiptHandle], delayMs: 100 });
    const [b] = receive(h, 's');
    expect(b.body).toBe('b');
    const v = h.ok({ type: 'subscription.visibility', user: 'alice', topic: 't', subscription: 's', receiptHandle: b.receiptHandle, visibilityTimeoutMs: 50 });
    expect(v).toEqual({ visibleAt: new Date(h.time + 50).toISOString() });
    h.advance(100);
    expect(receive(h, 's').map((m) => [m.body, m.receiveCount])).toEqual([['a', 2], ['b', 2]]);
  });

  test('maxDeliveries dead-letters into a queue, keeping the message id', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'bob', name: 'dead' });
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'bob', permissions: ['subscribe'] });
    h.fails({ type: 'subscription.create', user: 'bob', topic: 't', name: 's', deadLetterQueue: 'dead' }, 'validation_failed');
    subscribe(h, 's', 'bob', { maxDeliveries: 1, deadLetterQueue: 'dead', ackTimeoutMs: 100 });
    expect(h.broker.listSubscriptions('bob', 't')).toMatchObject({
      ok: true, value: { subscriptions: [{ name: 's', topic: 't', owner: 'bob', maxDeliveries: 1, deadLetterQueue: 'dead', ackTimeoutMs: 100 }] },
    });
    const [id] = publish(h, ['p']);
    receive(h, 's', 'bob');
    h.advance(100);
    expect(receive(h, 's', 'bob')).toEqual([]);
    expect(h.ok({ type: 'queue.receive', user: 'bob', queue: 'dead' }).messages).toMatchObject([{ id, body: 'p' }]);
  });

  test('publish needs ownership or a publish grant; subscribe needs ownership, a grant or public', () => {
    const h = setup();
    h.fails({ type: 'topic.publish', user: 'bob', topic: 't', messages: [{ body: 'x' }], batch: false }, 'forbidden');
    h.fails({ type: 'subscription.create', user: 'bob', topic: 't', name: 'b' }, 'forbidden');
    expect(h.broker.getTopic('bob', 't')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'bob', permissions: ['publish'] });
    h.ok({ type: 'topic.publish', user: 'bob', topic: 't', messages: [{ body: 'x' }], batch: false });
    h.fails({ type: 'subscription.create', user: 'bob', topic: 't', name: 'b' }, 'forbidden');

    const p = setup({ public: true });
    p.ok({ type: 'subscription.create', user: 'carol', topic: 't', name: 'c' });
    p.fails({ type: 'topic.publish', user: 'carol', topic: 't', messages: [{ body: 'x' }], batch: false }, 'forbidden');
    expect(p.broker.listTopics('carol')).toMatchObject({ ok: true, value: { topics: [{ name: 't' }] } });
  });

  test('only the topic owner deletes or grants; only the subscription owner uses it', () => {
    const h = setup({ public: true });
    subscribe(h, 'mine', 'bob');
    h.fails({ type: 'topic.delete', user: 'bob', topic: 't' }, 'forbidden');
    h.fails({ type: 'topic.grant', user: 'bob', topic: 't', username: 'carol', permissions: ['publish'] }, 'forbidden');
    h.fails({ type: 'subscription.receive', user: 'carol', topic: 't', subscription: 'mine' }, 'forbidden');
    h.fails({ type: 'subscription.delete', user: 'alice', topic: 't', subscription: 'mine' }, 'forbidden');
    h.fails({ type: 'subscription.create', user: 'carol', topic: 't', name: 'mine' }, 'conflict');
    expect(h.broker.listSubscriptions('carol', 't')).toEqual({ ok: true, value: { subscriptions: [] } });
    expect(h.ok({ type: 'subscription.delete', user: 'bob', topic: 't', subscription: 'mine' })).toBeNull();
    h.fails({ type: 'subscription.receive', user: 'bob', topic: 't', subscription: 'mine' }, 'not_found');
  });

  test('revoking subscribe stops an existing subscription from receiving', () => {
    const h = setup();
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'bob', permissions: ['subscribe'] });
    subscribe(h, 'b', 'bob');
    publish(h, ['x']);
    const [m] = receive(h, 'b', 'bob');
    h.ok({ type: 'topic.revoke', user: 'alice', topic: 't', username: 'bob' });
    h.fails({ type: 'subscription.ack', user: 'bob', topic: 't', subscription: 'b', receiptHandles: [m.receiptHandle] }, 'forbidden');
    h.fails({ type: 'subscription.receive', user: 'bob', topic: 't', subscription: 'b' }, 'forbidden');
    expect(h.ok({ type: 'subscription.delete', user: 'bob', topic: 't', subscription: 'b' })).toBeNull();
  });

  test('a topic deleted with live subscriptions takes them and their leases along', () => {
    const h = setup();
    subscribe(h, 's', 'alice', { ackTimeoutMs: 100 });
    publish(h, ['a', 'b']);
    const [m] = receive(h, 's', 'alice', 1);
    h.ok({ type: 'topic.delete', user: 'alice', topic: 't' });
    h.fails({ type: 'subscription.ack', user: 'alice', topic: 't', subscription: 's', receiptHandles: [m.receiptHandle] }, 'not_found');
    expect(h.broker.listSubscriptions('alice', 't')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    h.advance(1000);
    h.tick();
    // Recreated topic starts empty, with no subscriptions.
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    subscribe(h, 's');
    expect(receive(h, 's')).toEqual([]);
    expect(h.broker.queueDepths()).toEqual([{ kind: 'subscription', target: 'sub:t/s', ready: 0, inflight: 0, delayed: 0 }]);
  });

  test('publishing dedups within 5 minutes; delayMs is not allowed on topics', () => {
    const h = setup();
    subscribe(h, 's');
    const a = h.ok({ type: 'topic.publish', user: 'alice', topic: 't', messages: [{ body: 'a', deduplicationId: 'k' }], batch: false });
    const b = h.ok({ type: 'topic.publish', user: 'alice', topic: 't', messages: [{ body: 'b', deduplicationId: 'k' }], batch: false });
    expect(b).toEqual({ id: a.id, deduplicated: true });
    expect(receive(h, 's').map((m) => m.body)).toEqual(['a']);
    h.fails({ type: 'topic.publish', user: 'alice', topic: 't', messages: [{ body: 'c', delayMs: 5 } as never], batch: false }, 'validation_failed');
  });

  test('topic retention drops messages nobody has taken in time', () => {
    const h = setup({ retentionMs: 10_000 });
    subscribe(h, 's');
    publish(h, ['old']);
    h.advance(6000);
    publish(h, ['young']);
    h.advance(4000);
    h.tick();
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 1 } } });
    expect(h.broker.listSubscriptions('alice', 't')).toMatchObject({ ok: true, value: { subscriptions: [{ stats: { ready: 1 } }] } });
    expect(receive(h, 's').map((m) => m.body)).toEqual(['young']);
  });

  test('a message a subscription got back from an ended lease leaves its counts when retention passes', () => {
    const h = setup({ retentionMs: 2000 });
    subscribe(h, 's');
    publish(h, ['leased once']);
    expect(h.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's', max: 1, visibilityTimeoutMs: 500 }).messages).toHaveLength(1);
    h.advance(600);
    h.tick();
    expect(h.broker.listSubscriptions('alice', 't')).toMatchObject({ ok: true, value: { subscriptions: [{ stats: { ready: 1, inflight: 0 } }] } });
    h.advance(2000);
    h.tick();
    expect(h.broker.listSubscriptions('alice', 't')).toMatchObject({ ok: true, value: { subscriptions: [{ stats: { ready: 0, inflight: 0 } }] } });
  });
});
