import { Harness } from './harness.js';

function setup(opts: Record<string, unknown> = {}): Harness {
  const h = new Harness();
  h.register('alice', 'bob');
  h.ok({ type: 'queue.create', user: 'alice', name: 'q', ...opts });
  return h;
}

function send(h: Harness, bodies: string[], queue = 'q', user = 'alice'): string[] {
  const r = h.ok({ type: 'queue.send', user, queue, messages: bodies.map((body) => ({ body })), batch: true });
  return r.messages.map((m: { id: string }) => m.id);
}

function receive(h: Harness, max = 10, extra: Record<string, unknown> = {}, queue = 'q', user = 'alice'): any[] {
  return h.ok({ type: 'queue.receive', user, queue, max, ...extra }).messages;
}

function stats(h: Harness, queue = 'q'): unknown {
  const r = h.broker.getQueue('alice', queue);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.stats;
}

describe('queue lifecycle', () => {
  test('create answers the Queue body with defaults', () => {
    const h = new Harness();
    h.register('alice');
    const q = h.ok({ type: 'queue.create', user: 'alice', name: 'orders' });
    expect(q).toEqual({
      name: 'orders', owner: 'alice', createdAt: new Date(h.time).toISOString(),
      visibilityTimeoutMs: 30000, maxReceives: null, deadLetterQueue: null, retentionMs: 345600000,
      stats: { ready: 0, inflight: 0, delayed: 0 },
    });
  });

  test('a taken name is a conflict, also for another user', () => {
    const h = setup();
    h.fails({ type: 'queue.create', user: 'bob', name: 'q' }, 'conflict');
  });

  test('bad names and options are validation failures', () => {
    const h = setup();
    h.fails({ type: 'queue.create', user: 'alice', name: '-bad' }, 'validation_failed');
    h.fails({ type: 'queue.create', user: 'alice', name: 'x', visibilityTimeoutMs: -1 }, 'validation_failed');
    h.fails({ type: 'queue.create', user: 'alice', name: 'x', deadLetterQueue: 'nope', maxReceives: 2 }, 'validation_failed');
    h.fails({ type: 'queue.create', user: 'alice', name: 'x', deadLetterQueue: 'q' }, 'validation_failed');
    h.fails({ type: 'queue.create', user: 'alice', name: 'x', deadLetterQueue: 'x', maxReceives: 2 }, 'validation_failed');
  });

  test('a dead-letter queue must belong to the creator', () => {
    const h = setup();
    h.fails({ type: 'queue.create', user: 'bob', name: 'b', deadLetterQueue: 'q', maxReceives: 2 }, 'forbidden');
  });

  test('unknown users cannot create', () => {
    const h = setup();
    h.fails({ type: 'queue.create', user: 'mallory', name: 'm' }, 'forbidden');
  });

  test('delete drops the queue and its messages; the name is free again', () => {
    const h = setup();
    send(h, ['a', 'b']);
    const [m] = receive(h, 1);
    expect(h.ok({ type: 'queue.delete', user: 'alice', queue: 'q' })).toBeNull();
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    h.fails({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [m.receiptHandle] }, 'not_found');
    h.ok({ type: 'queue.create', user: 'bob', name: 'q' });
    expect(receive(h, 10, {}, 'q', 'bob')).toEqual([]);
    // The old lease's timer must be gone too: nothing fires into the new queue.
    h.advance(60_000);
    h.tick();
    expect(h.broker.getQueue('bob', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 0, inflight: 0, delayed: 0 } } });
  });

  test('purge counts ready, inflight and delayed messages and empties the queue', () => {
    const h = setup();
    send(h, ['a', 'b', 'c']);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'd', delayMs: 1000 }], batch: true });
    receive(h, 1);
    expect(h.ok({ type: 'queue.purge', user: 'alice', queue: 'q' })).toEqual({ purged: 4 });
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    h.advance(100_000);
    h.tick();
    expect(receive(h)).toEqual([]);
  });
});

describe('send and receive', () => {
  test('single send answers {id, deduplicated}; batch answers {messages}', () => {
    const h = setup();
    const one = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'x' }], batch: false });
    expect(one).toEqual({ id: expect.any(String), deduplicated: false });
    const many = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'y' }, { body: 'z' }], batch: true });
    expect(many.messages).toHaveLength(2);
    expect(new Set([one.id, ...many.messages.map((m: any) => m.id)]).size).toBe(3);
    h.fails({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'y' }, { body: 'z' }], batch: false }, 'validation_failed');
  });

  test('ready messages leave in commit order with Received fields', () => {
    const h = setup();
    const ids = send(h, ['a', 'b', 'c']);
    send(h, ['d']);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'e', attributes: { k: 'v' } }], batch: false });
    const got = receive(h, 2);
    expect(got.map((m) => m.body)).toEqual(['a', 'b']);
    expect(got[0]).toEqual({
      id: ids[0], body: 'a', attributes: {}, receiptHandle: expect.any(String), receiveCount: 1,
      sentAt: new Date(h.time).toISOString(),
    });
    expect(receive(h, 10).map((m) => [m.body, m.attributes])).toEqual([['c', {}], ['d', {}], ['e', { k: 'v' }]]);
    expect(receive(h, 10)).toEqual([]);
  });

  test('answers cannot change stored messages', () => {
    const h = setup();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a', attributes: { k: 'v' } }], batch: false });
    const [m] = receive(h, 1, { visibilityTimeoutMs: 0 });
    expect(() => {
      m.attributes.k = 'changed';
    }).toThrow(TypeError);
    const restored = h.restored();
    restored.time = h.time + 1;
    h.advance(1);
    expect(receive(h)[0].attributes).toEqual({ k: 'v' });
    const [again] = receive(restored);
    expect(again.attributes).toEqual({ k: 'v' });
    expect(Object.isFrozen(again.attributes)).toBe(true);
  });

  test('receipt handles are unique per delivery', () => {
    const h = setup({ visibilityTimeoutMs: 1000 });
    send(h, ['a', 'b']);
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const m of receive(h, 10)) seen.add(m.receiptHandle);
      h.advance(1000);
    }
    expect(seen.size).toBe(10);
  });

  test('a body over 256 KiB of UTF-8 is payload_too_large and nothing of the batch is kept', () => {
    const h = setup();
    const big = 'é'.repeat(128 * 1024 + 1); // 2 bytes each: just over the limit
    h.fails({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'ok' }, { body: big }], batch: true }, 'payload_too_large');
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    send(h, ['x'.repeat(256 * 1024)]);
    expect(stats(h)).toMatchObject({ ready: 1 });
  });

  test('attribute names and values count toward the 256 KiB; at most 100 attributes, names up to 256 characters', () => {
    const h = setup();
    const half = 128 * 1024;
    const msg = (attributes: Record<string, string>) => ({ type: 'queue.send' as const, user: 'alice', queue: 'q', messages: [{ body: 'a'.repeat(half), attributes }], batch: false });
    h.fails(msg({ k: 'v'.repeat(half) }), 'payload_too_large');
    h.fails(msg({ ['k'.repeat(half)]: 'v' }), 'validation_failed'); // the name is over 256 characters
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    h.ok(msg({ k: 'v'.repeat(half - 1) }));
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, 'v']));
    h.fails({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'x', attributes: attrs(101) }], batch: false }, 'validation_failed');
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'x', attributes: attrs(100) }], batch: false });
    expect(stats(h)).toMatchObject({ ready: 2 });
  });

  test('lone surrogates are refused', () => {
    const h = setup();
    h.fails({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a\ud800' }], batch: false }, 'validation_failed');
  });

  test('sending to an unknown queue is not_found', () => {
    const h = setup();
    h.fails({ type: 'queue.send', user: 'alice', queue: 'nope', messages: [{ body: 'a' }], batch: false }, 'not_found');
  });
});

describe('leases', () => {
  test('ack deletes; acking twice or a made-up receipt is unknown', () => {
    const h = setup();
    send(h, ['a', 'b']);
    const [a, b] = receive(h, 2);
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [a.receiptHandle, 'zz.0'] }))
      .toEqual({ acked: 1, unknown: ['zz.0'] });
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [a.receiptHandle, b.receiptHandle] }))
      .toEqual({ acked: 1, unknown: [a.receiptHandle] });
    h.advance(3_600_000);
    expect(receive(h)).toEqual([]);
  });

  test('an expired lease returns the message with receiveCount + 1 and a new receipt', () => {
    const h = setup({ visibilityTimeoutMs: 10_000 });
    send(h, ['a']);
    const [first] = receive(h);
    h.advance(9_999);
    expect(receive(h)).toEqual([]);
    h.advance(1);
    const [second] = receive(h);
    expect(second).toMatchObject({ id: first.id, receiveCount: 2 });
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
  });

  test('a stale receipt after redelivery is unknown for ack and nack, not_found for visibility', () => {
    const h = setup({ visibilityTimeoutMs: 1000 });
    send(h, ['a']);
    const [first] = receive(h);
    h.advance(1000);
    const [second] = receive(h);
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [first.receiptHandle] }))
      .toEqual({ acked: 0, unknown: [first.receiptHandle] });
    expect(h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [first.receiptHandle] }))
      .toEqual({ released: 0, unknown: [first.receiptHandle] });
    h.fails({ type: 'queue.visibility', user: 'alice', queue: 'q', receiptHandle: first.receiptHandle, visibilityTimeoutMs: 5000 }, 'not_found');
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [second.receiptHandle] }))
      .toEqual({ acked: 1, unknown: [] });
  });

  test('the receive visibilityTimeoutMs overrides the queue default', () => {
    const h = setup({ visibilityTimeoutMs: 100_000 });
    send(h, ['a']);
    receive(h, 1, { visibilityTimeoutMs: 500 });
    h.advance(500);
    expect(receive(h)).toHaveLength(1);
  });

  test('visibility extends a lease from now and answers visibleAt', () => {
    const h = setup({ visibilityTimeoutMs: 1000 });
    send(h, ['a']);
    const [m] = receive(h);
    h.advance(900);
    const r = h.ok({ type: 'queue.visibility', user: 'alice', queue: 'q', receiptHandle: m.receiptHandle, visibilityTimeoutMs: 5000 });
    expect(r).toEqual({ visibleAt: new Date(h.time + 5000).toISOString() });
    h.advance(4999);
    expect(receive(h)).toEqual([]);
    h.advance(1);
    expect(receive(h)).toMatchObject([{ id: m.id, receiveCount: 2 }]);
  });

  test('visibility 0 makes a message visible again at once', () => {
    const h = setup();
    send(h, ['a']);
    const [m] = receive(h);
    h.ok({ type: 'queue.visibility', user: 'alice', queue: 'q', receiptHandle: m.receiptHandle, visibilityTimeoutMs: 0 });
    expect(receive(h)).toMatchObject([{ id: m.id, receiveCount: 2 }]);
  });

  test('nack releases at once, ahead of later messages (commit order)', () => {
    const h = setup();
    send(h, ['a', 'b', 'c']);
    const [a] = receive(h, 1);
    expect(h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [a.receiptHandle] }))
      .toEqual({ released: 1, unknown: [] });
    expect(receive(h, 10).map((m) => [m.body, m.receiveCount])).toEqual([['a', 2], ['b', 1], ['c', 1]]);
  });

  test('nack with delay keeps the message invisible for the delay', () => {
    const h = setup();
    send(h, ['a', 'b']);
    const [a] = receive(h, 1);
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [a.receiptHandle], delayMs: 5000 });
    expect(stats(h)).toEqual({ ready: 1, inflight: 0, delayed: 1 });
    expect(receive(h, 10).map((m) => m.body)).toEqual(['b']);
    h.advance(4999);
    expect(receive(h, 10)).toEqual([]);
    h.advance(1);
    expect(receive(h, 10).map((m) => [m.body, m.receiveCount])).toEqual([['a', 2]]);
  });

  test('delayMs on send hides the message until due, then it keeps its commit order', () => {
    const h = setup();
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'late', delayMs: 2000 }, { body: 'now' }], batch: true });
    send(h, ['after']);
    expect(stats(h)).toEqual({ ready: 2, inflight: 0, delayed: 1 });
    h.advance(2000);
    expect(receive(h, 10).map((m) => m.body)).toEqual(['late', 'now', 'after']);
  });
});

describe('dead-letter queues', () => {
  test('over maxReceives the message moves to the DLQ keeping id, body, attributes and sentAt', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 2, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
    const sentAt = new Date(h.time).toISOString();
    const { id } = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'poison', attributes: { a: 'b' } }], batch: false });
    expect(receive(h)).toMatchObject([{ receiveCount: 1 }]);
    h.advance(1000);
    expect(receive(h)).toMatchObject([{ receiveCount: 2 }]);
    h.advance(1000);
    expect(receive(h)).toEqual([]);
    expect(receive(h, 10, {}, 'dlq')).toEqual([
      { id, body: 'poison', attributes: { a: 'b' }, receiptHandle: expect.any(String), receiveCount: 1, sentAt },
    ]);
    expect(h.ok({ type: 'queue.create', user: 'alice', name: 'x' })).toBeTruthy();
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { maxReceives: 2, deadLetterQueue: 'dlq' } });
  });

  test('a nack counts as a receive towards maxReceives', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 1, deadLetterQueue: 'dlq' });
    send(h, ['a']);
    const [m] = receive(h);
    h.ok({ type: 'queue.nack', user: 'alice', queue: 'q', receiptHandles: [m.receiptHandle], delayMs: 10 });
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(stats(h, 'dlq')).toMatchObject({ ready: 1 });
  });

  test('DLQ chains: q -> d1 -> d2', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'd2' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'd1', maxReceives: 1, deadLetterQueue: 'd2', visibilityTimeoutMs: 100 });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 1, deadLetterQueue: 'd1', visibilityTimeoutMs: 100 });
    const [id] = send(h, ['a']);
    receive(h);
    h.advance(100);
    expect(receive(h, 10, {}, 'd1')).toMatchObject([{ id, receiveCount: 1 }]);
    h.advance(100);
    h.tick();
    expect(stats(h, 'd1')).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(receive(h, 10, {}, 'd2')).toMatchObject([{ id, body: 'a' }]);
  });

  test('maxReceives without a DLQ drops the message; a deleted DLQ drops it too', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'queue.create', user: 'alice', name: 'plain', maxReceives: 1, visibilityTimeoutMs: 100 });
    send(h, ['a'], 'plain');
    receive(h, 1, {}, 'plain');
    h.advance(100);
    expect(receive(h, 1, {}, 'plain')).toEqual([]);

    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 1, deadLetterQueue: 'dlq', visibilityTimeoutMs: 100 });
    send(h, ['b']);
    receive(h);
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'dlq' });
    h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' }); // a new queue, not the DLQ
    h.advance(100);
    h.tick();
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(stats(h, 'dlq')).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });
});

describe('retention', () => {
  test('messages older than retentionMs are dropped, ready or in flight', () => {
    const h = setup({ retentionMs: 10_000, visibilityTimeoutMs: 1000 });
    send(h, ['old']);
    h.advance(5000);
    send(h, ['young']);
    const [old] = receive(h, 1);
    expect(old.body).toBe('old');
    h.advance(5000); // old is 10 s old now; its lease also ended
    h.tick();
    expect(stats(h)).toEqual({ ready: 1, inflight: 0, delayed: 0 });
    expect(receive(h, 10).map((m) => m.body)).toEqual(['young']);
    h.advance(5000);
    h.tick();
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });

  test('a message whose lease ended before its retention leaves the counts when retention passes', () => {
    const h = setup({ retentionMs: 2000, visibilityTimeoutMs: 500 });
    send(h, ['leased once']);
    expect(receive(h, 1)).toHaveLength(1);
    h.advance(600); // the lease ended: ready again
    h.tick();
    expect(stats(h)).toEqual({ ready: 1, inflight: 0, delayed: 0 });
    h.advance(2000); // past retention, and nobody received it meanwhile
    h.tick();
    expect(stats(h)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
  });
});

describe('deduplication', () => {
  test('the same deduplicationId within 5 minutes answers the first id and enqueues nothing', () => {
    const h = setup();
    const first = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a', deduplicationId: 'd' }], batch: false });
    h.advance(299_999);
    const again = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'other', deduplicationId: 'd' }], batch: false });
    expect(again).toEqual({ id: first.id, deduplicated: true });
    expect(stats(h)).toMatchObject({ ready: 1 });
    h.advance(1); // exactly 5 minutes after the first: the window is over
    const later = h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'b', deduplicationId: 'd' }], batch: false });
    expect(later.deduplicated).toBe(false);
    expect(later.id).not.toBe(first.id);
    expect(stats(h)).toMatchObject({ ready: 2 });
  });

  test('within one batch, a repeated id is deduplicated against the earlier message', () => {
    const h = setup();
    const r = h.ok({
      type: 'queue.send', user: 'alice', queue: 'q', batch: true,
      messages: [{ body: 'a', deduplicationId: 'x' }, { body: 'b', deduplicationId: 'x' }, { body: 'c' }],
    });
    expect(r.messages[1]).toEqual({ id: r.messages[0].id, deduplicated: true });
    expect(receive(h, 10).map((m) => m.body)).toEqual(['a', 'c']);
  });

  test('dedup ids are per queue', () => {
    const h = setup();
    h.ok({ type: 'queue.create', user: 'alice', name: 'q2' });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', messages: [{ body: 'a', deduplicationId: 'd' }], batch: false });
    const other = h.ok({ type: 'queue.send', user: 'alice', queue: 'q2', messages: [{ body: 'a', deduplicationId: 'd' }], batch: false });
    expect(other.deduplicated).toBe(false);
  });
});
