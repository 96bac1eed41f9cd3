import { Harness } from './harness.js';

describe('replicated time', () => {
  test('time never goes backwards even if a later entry carries an older stamp', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', visibilityTimeoutMs: 1000 });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false });
    h.advance(5000);
    const [m] = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q' }).messages;
    h.advance(-4000); // a new leader with a slow clock
    const r = h.ok({ type: 'queue.visibility', user: 'alice', queue: 'q', receiptHandle: m.receiptHandle, visibilityTimeoutMs: 10 });
    expect(r.visibleAt).toBe(new Date(h.time + 4000 + 10).toISOString());
    expect(h.broker.now()).toBe(h.time + 4000);
  });

  test('tick fires due leases and delays without any other command', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', visibilityTimeoutMs: 1000 });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }, { body: 'b', delayMs: 500 }], batch: true });
    h.ok({ type: 'queue.receive', user: 'alice', queue: 'q' });
    const stats = () => (h.broker.getQueue('alice', 'q') as any).value.stats;
    expect(stats()).toEqual({ ready: 0, inflight: 1, delayed: 1 });
    h.advance(500);
    h.tick();
    expect(stats()).toEqual({ ready: 1, inflight: 1, delayed: 0 });
    h.advance(500);
    h.tick();
    expect(stats()).toEqual({ ready: 2, inflight: 0, delayed: 0 });
  });
});

describe('onMessagesReady', () => {
  test('fires for sends, publishes, nacks, expiries and dead-lettering; not for receives', () => {
    const h = new Harness();
    const events: string[] = [];
    const off = h.broker.onMessagesReady((t) => events.push(t));
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', visibilityTimeoutMs: 100, maxReceives: 2, deadLetterQueue: 'dlq' });
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name: 's' });
    expect(events).toEqual([]);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false });
    expect(events).toEqual(['queue:q']);
    const [m] = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q' }).messages;
    expect(events).toEqual(['queue:q']);
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [m.receiptHandle] });
    expect(events).toEqual(['queue:q', 'queue:q']);
    h.ok({ type: 'queue.receive', user: 'alice', queue: 'q' });
    h.advance(100);
    h.tick(); // second lease ends: receiveCount 2 = maxReceives -> dead-lettered
    expect(events).toEqual(['queue:q', 'queue:q', 'queue:dlq']);
    h.ok({ type: 'topic.publish', user: 'alice', topic: 't', messages: [{ body: 'x' }], batch: false });
    expect(events.at(-1)).toBe('sub:t/s');
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'b', delayMs: 50 }], batch: false });
    expect(events).toHaveLength(4);
    h.advance(50);
    h.tick();
    expect(events.at(-1)).toBe('queue:q');
    off();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'c' }], batch: false });
    expect(events).toHaveLength(5);
  });

  test('readyCount answers per target', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name: 's' });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }, { body: 'b' }], batch: true });
    h.ok({ type: 'topic.publish', user: 'alice', topic: 't', messages: [{ body: 'a' }], batch: false });
    expect(h.broker.readyCount('queue:q')).toBe(2);
    expect(h.broker.readyCount('sub:t/s')).toBe(1);
    expect(h.broker.readyCount('queue:nope')).toBeUndefined();
    expect(h.broker.readyCount('sub:t/nope')).toBeUndefined();
    expect(h.broker.readyCount('bogus')).toBeUndefined();
  });

  test('a throwing listener does not break apply', () => {
    const h = new Harness();
    h.broker.onMessagesReady(() => {
      throw new Error('listener bug');
    });
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
    expect(h.apply({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a' }], batch: false }).ok).toBe(true);
  });
});

describe('mass expiry', () => {
  test('is spread over entries, oldest first, and fully drains', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', visibilityTimeoutMs: 1000 });
    const total = 12_800; // more than MAX_EXPIRIES_PER_ENTRY leases ending at the same time
    for (let i = 0; i < total / 100; i++) {
      h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: Array.from({ length: 100 }, () => ({ body: 'm' })) });
    }
    for (let i = 0; i < total / 100; i++) h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 100 });
    const stats = () => (h.broker.getQueue('alice', 'q') as any).value.stats;
    expect(stats()).toEqual({ ready: 0, inflight: total, delayed: 0 });
    h.advance(1000);
    h.tick();
    expect(stats()).toEqual({ ready: 10_000, inflight: total - 10_000, delayed: 0 });
    h.tick();
    expect(stats()).toEqual({ ready: total, inflight: 0, delayed: 0 });
  });
});
