import { Broker, DEFAULT_LIMITS, resolveLimits, type Command, type CommandResult } from '../../src/broker/index.js';
import { Harness } from './harness.js';

function quotaError(r: CommandResult, limit: string, max: number): void {
  if (r.ok) throw new Error(`expected quota_exceeded (${limit}), got ${JSON.stringify(r.value)}`);
  expect(r.error).toMatchObject({ code: 'quota_exceeded', details: { limit, max } });
  expect(r.error.message).toContain(limit);
}

const send = (queue: string, bodies: string[], user = 'alice', attributes?: Record<string, string>): Command => ({
  type: 'queue.send', user, queue, batch: true, messages: bodies.map((body) => ({ body, ...(attributes && { attributes }) })),
});

describe('quotas', () => {
  test('defaults hold until a cluster.limits entry sets others', () => {
    const h = new Harness();
    expect(h.broker.limits()).toEqual(DEFAULT_LIMITS);
    h.limits({ queuesPerUser: 5 });
    expect(h.broker.limits()).toEqual({ ...DEFAULT_LIMITS, queuesPerUser: 5 });
    h.fails({ type: 'cluster.limits', limits: { ...DEFAULT_LIMITS, queuesPerUser: 0 } }, 'validation_failed');
    h.fails({ type: 'cluster.limits', limits: { queuesPerUser: 3 } } as unknown as Command, 'validation_failed');
    expect(h.broker.limits().queuesPerUser).toBe(5);
    // A node's --limits with an unknown name or a bad value is refused before it starts.
    expect(() => resolveLimits({ queuesPerUsr: 5 })).toThrow(/queuesPerUsr|unrecognized/i);
    expect(() => resolveLimits({ topicsPerUser: 1.5 })).toThrow(/topicsPerUser/);
  });

  test('queues, topics and subscriptions per user: refused past the limit, changing nothing; deleting frees room', () => {
    const h = new Harness();
    h.register('alice', 'bob');
    h.limits({ queuesPerUser: 2, topicsPerUser: 1, subscriptionsPerUser: 2 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q1' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q2' });
    const before = h.broker.stateHash();
    quotaError(h.apply({ type: 'queue.create', user: 'alice', name: 'q3' }), 'queuesPerUser', 2);
    expect(h.apply({ type: 'queue.create', user: 'alice', name: 'q3' })).toMatchObject({
      error: { details: { limit: 'queuesPerUser', max: 2, current: 2, requested: 1 } },
    });
    expect(h.broker.listQueues('alice')).toMatchObject({ ok: true, value: { queues: [{ name: 'q1' }, { name: 'q2' }] } });
    // bob has his own count.
    h.ok({ type: 'queue.create', user: 'bob', name: 'b1' });
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'q1' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q3' });

    h.ok({ type: 'topic.create', user: 'alice', name: 't1', public: true });
    quotaError(h.apply({ type: 'topic.create', user: 'alice', name: 't2' }), 'topicsPerUser', 1);
    expect(h.broker.getTopic('alice', 't2')).toMatchObject({ ok: false, error: { code: 'not_found' } });

    h.ok({ type: 'subscription.create', user: 'bob', topic: 't1', name: 's1' });
    h.ok({ type: 'subscription.create', user: 'bob', topic: 't1', name: 's2' });
    quotaError(h.apply({ type: 'subscription.create', user: 'bob', topic: 't1', name: 's3' }), 'subscriptionsPerUser', 2);
    h.ok({ type: 'subscription.delete', user: 'bob', topic: 't1', subscription: 's1' });
    h.ok({ type: 'subscription.create', user: 'bob', topic: 't1', name: 's3' });
    // Deleting the topic gives back its owner's topic and its subscribers' subscriptions.
    h.ok({ type: 'topic.delete', user: 'alice', topic: 't1' });
    h.ok({ type: 'topic.create', user: 'alice', name: 't2', public: true });
    h.ok({ type: 'subscription.create', user: 'bob', topic: 't2', name: 'a' });
    h.ok({ type: 'subscription.create', user: 'bob', topic: 't2', name: 'b' });
    expect(before).not.toBe(h.broker.stateHash());
  });

  test('grants per user count over queues and topics; replacing one is free, revoking frees room', () => {
    const h = new Harness();
    h.register('alice', 'bob', 'carol', 'dave');
    h.limits({ grantsPerUser: 2 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] });
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'bob', permissions: ['publish'] });
    quotaError(h.apply({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'carol', permissions: ['send'] }), 'grantsPerUser', 2);
    quotaError(h.apply({ type: 'topic.grant', user: 'alice', topic: 't', username: 'carol', permissions: ['subscribe'] }), 'grantsPerUser', 2);
    expect(h.broker.getQueue('carol', 'q')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send', 'receive'] });
    h.ok({ type: 'queue.revoke', user: 'alice', queue: 'q', username: 'bob' });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'carol', permissions: ['send'] });
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'bob', permissions: [] });
    h.ok({ type: 'topic.grant', user: 'alice', topic: 't', username: 'dave', permissions: ['publish'] });
    // Deleting the topic gives its grants back.
    h.ok({ type: 'topic.delete', user: 'alice', topic: 't' });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'dave', permissions: ['send'] });
  });

  test('messages per queue: a batch that would go past it is refused whole; acking frees room', () => {
    const h = new Harness();
    h.register('alice');
    h.limits({ messagesPerQueue: 3 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    h.ok(send('q', ['a', 'b']));
    quotaError(h.apply(send('q', ['c', 'd'])), 'messagesPerQueue', 3);
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 2, inflight: 0, delayed: 0 } } });
    // In-flight messages still count; an ack frees its place.
    const [m] = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 1 }).messages;
    h.ok(send('q', ['c']));
    quotaError(h.apply(send('q', ['d'])), 'messagesPerQueue', 3);
    h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [m.receiptHandle] });
    h.ok(send('q', ['d']));
  });

  test('queued bytes per queue and per user count bodies and attributes, and come back as messages leave', () => {
    const h = new Harness();
    h.register('alice', 'bob');
    h.limits({ queuedBytesPerQueue: 1_000, queuedBytesPerUser: 1_500 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q1', retentionMs: 60_000 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q2' });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q1', username: 'bob', permissions: ['send'] });
    const k400 = 'x'.repeat(400);
    h.ok(send('q1', [k400, k400]));
    // 2 x 400 + 200 = 1,000: at the limit is allowed; one byte over is not.
    h.ok(send('q1', ['y'.repeat(190)], 'alice', { k: 'v'.repeat(9) }));
    quotaError(h.apply(send('q1', ['z'], 'bob')), 'queuedBytesPerQueue', 1_000);
    // The queue owner pays, whoever sends.
    h.ok(send('q2', [k400]));
    quotaError(h.apply(send('q2', ['w'.repeat(101)])), 'queuedBytesPerUser', 1_500);
    expect(h.broker.getQueue('alice', 'q2')).toMatchObject({ ok: true, value: { stats: { ready: 1 } } });
    h.ok(send('q2', ['w'.repeat(100)]));

    // Purge frees the queue's bytes, retention frees them too.
    h.ok({ type: 'queue.purge', user: 'alice', queue: 'q2' });
    h.ok(send('q2', [k400]));
    h.advance(60_000);
    h.tick();
    // q1's 1,000 bytes passed retention: alice holds 400 (q2) and may add 1,100.
    h.ok(send('q2', [k400, 'w'.repeat(100)]));
    h.ok(send('q1', [k400]));
    quotaError(h.apply(send('q1', ['w'.repeat(201)])), 'queuedBytesPerUser', 1_500);
    h.ok(send('q1', ['w'.repeat(200)]));
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'q1' });
    h.ok(send('q2', ['w'.repeat(100)]));
    quotaError(h.apply(send('q2', ['w'])), 'queuedBytesPerQueue', 1_000);
  });

  test('a topic\'s retained log counts like a queue, and for its owner\'s bytes', () => {
    const h = new Harness();
    h.register('alice', 'bob');
    h.limits({ messagesPerQueue: 3, queuedBytesPerQueue: 1_000, queuedBytesPerUser: 1_200 });
    h.ok({ type: 'topic.create', user: 'alice', name: 't', public: true, retentionMs: 60_000 });
    const publish = (bodies: string[]): Command => ({
      type: 'topic.publish', user: 'alice', topic: 't', batch: true, messages: bodies.map((body) => ({ body })),
    });
    // Without subscriptions nothing is kept, so nothing counts.
    for (let i = 0; i < 3; i++) h.ok(publish(['x'.repeat(500), 'y']));
    h.ok({ type: 'subscription.create', user: 'bob', topic: 't', name: 'slow' });
    h.ok(publish(['a', 'b']));
    quotaError(h.apply(publish(['c', 'd'])), 'messagesPerQueue', 3);
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 2 } } });
    // Once the subscription took them, the log lets them go and there is room again.
    expect(h.ok({ type: 'subscription.receive', user: 'bob', topic: 't', subscription: 'slow', max: 10 }).messages).toHaveLength(2);
    h.ok(publish(['x'.repeat(990)]));
    quotaError(h.apply(publish(['x'.repeat(11)])), 'queuedBytesPerQueue', 1_000);
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    h.ok(send('q', ['q'.repeat(200)]));
    quotaError(h.apply(send('q', ['q'.repeat(11)])), 'queuedBytesPerUser', 1_200);
    // Retention and deleting the topic give the bytes back.
    h.advance(60_000);
    h.tick();
    h.ok(send('q', ['q'.repeat(500)]));
    h.ok(publish(['x'.repeat(400)]));
    quotaError(h.apply(send('q', ['q'.repeat(300)])), 'queuedBytesPerUser', 1_200);
    h.ok({ type: 'topic.delete', user: 'alice', topic: 't' });
    h.ok(send('q', ['q'.repeat(300)]));
  });

  test('a dead-letter queue takes what is moved to it even past its limits', () => {
    const h = new Harness();
    h.register('alice');
    h.limits({ messagesPerQueue: 1 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 1, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'r', maxReceives: 1, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
    h.ok(send('dlq', ['first']));
    h.ok(send('q', ['a']));
    h.ok({ type: 'queue.receive', user: 'alice', queue: 'q' });
    h.advance(1000);
    h.tick();
    expect(h.broker.getQueue('alice', 'dlq')).toMatchObject({ ok: true, value: { stats: { ready: 2 } } });
    quotaError(h.apply(send('dlq', ['more'])), 'messagesPerQueue', 1);
  });

  test('a restored replica counts the same usage and refuses the same commands', () => {
    const h = new Harness();
    h.register('alice', 'bob');
    h.limits({ queuesPerUser: 2, grantsPerUser: 1, queuedBytesPerUser: 100, messagesPerQueue: 100 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q1' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q2' });
    h.ok({ type: 'queue.grant', user: 'alice', queue: 'q1', username: 'bob', permissions: ['send'] });
    h.ok(send('q1', ['a'.repeat(60)]));
    h.ok({ type: 'queue.receive', user: 'alice', queue: 'q1' });
    h.ok(send('q2', ['b'.repeat(30)]));

    const copy = new Harness();
    copy.broker.restore(h.broker.snapshot());
    copy.index = h.index;
    copy.time = h.time;
    expect(copy.broker.limits()).toEqual(h.broker.limits());
    const tries: [Command, string][] = [
      [{ type: 'queue.create', user: 'alice', name: 'q3' }, 'queuesPerUser'],
      [{ type: 'queue.grant', user: 'alice', queue: 'q2', username: 'bob', permissions: ['send'] }, 'grantsPerUser'],
      [send('q2', ['c'.repeat(11)]), 'queuedBytesPerUser'],
    ];
    for (const [cmd, limit] of tries) {
      quotaError(h.apply(cmd), limit, h.broker.limits()[limit as 'queuesPerUser']);
      quotaError(copy.apply(cmd), limit, h.broker.limits()[limit as 'queuesPerUser']);
    }
    for (const b of [h, copy]) b.ok(send('q2', ['c'.repeat(10)]));
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    expect(new Broker().limits()).toEqual(DEFAULT_LIMITS);
  });
});
