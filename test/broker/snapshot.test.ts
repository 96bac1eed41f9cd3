import { Broker, BrokerError, DEFAULT_LIMITS, type Command } from '../../src/broker/index.js';
import { Harness, TEST_RECEIPT_KEY } from './harness.js';
import { V1_IMAGE_BASE64, V1_INDEX, V1_TIME } from './testdata/snapshot-v1.js';

function busy(): Harness {
  const h = new Harness();
  h.register('alice', 'bob');
  h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
  h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 2, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
  h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] });
  h.ok({ type: 'queue.send', user: 'bob', queue: 'q', batch: true, idempotencyKey: 'i', messages: [
    { body: 'a', attributes: { k: 'v' }, deduplicationId: 'd1' }, { body: 'b', delayMs: 5000 }, { body: 'ünïcödé ✓' },
  ] });
  h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 1 });
  h.ok({ type: 'topic.create', user: 'alice', name: 't', public: true });
  h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name: 's1', ackTimeoutMs: 1000 });
  h.ok({ type: 'subscription.create', user: 'bob', topic: 't', name: 's2' });
  h.ok({ type: 'topic.publish', user: 'alice', topic: 't', batch: true, messages: [{ body: 'x' }, { body: 'y' }, { body: 'z' }] });
  // Both subscriptions take x: the log lets go of it while both still hold leases on it.
  h.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's1', max: 1 });
  h.ok({ type: 'subscription.receive', user: 'bob', topic: 't', subscription: 's2', max: 1 });
  return h;
}

describe('snapshot', () => {
  test('restore rebuilds the same state: same hash, same answers afterwards', () => {
    const h = busy();
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ ok: true, value: { stats: { retained: 2 } } });
    const image = h.broker.snapshot();
    const copy = new Broker();
    copy.restore(image);
    expect(copy.stateHash()).toBe(h.broker.stateHash());
    expect(copy.listQueues('alice')).toEqual(h.broker.listQueues('alice'));
    expect(copy.listSubscriptions('bob', 't')).toEqual(h.broker.listSubscriptions('bob', 't'));
    expect(copy.getUser('bob')).toEqual(h.broker.getUser('bob'));

    const rest: Command[] = [
      { type: 'queue.send', user: 'bob', queue: 'q', batch: true, idempotencyKey: 'i', messages: [{ body: 'again' }] },
      { type: 'queue.send', user: 'bob', queue: 'q', batch: false, messages: [{ body: 'dup', deduplicationId: 'd1' }] },
      { type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's1', max: 10 },
      { type: 'subscription.receive', user: 'bob', topic: 't', subscription: 's2', max: 10 },
      { type: 'queue.receive', user: 'alice', queue: 'q', max: 10 },
      { type: 'queue.receive', user: 'alice', queue: 'dlq', max: 10 },
    ];
    const other = h.restored();
    for (const [i, c] of rest.entries()) {
      h.advance(i === 4 ? 10_000 : 1500);
      other.advance(i === 4 ? 10_000 : 1500);
      expect(other.apply(c)).toEqual(h.apply(c));
    }
    expect(other.broker.stateHash()).toBe(h.broker.stateHash());
  });

  test('chunked snapshots equal the image at capture time, even if entries are applied meanwhile', () => {
    const h = busy();
    for (let i = 0; i < 50; i++) {
      h.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', batch: false, messages: [{ body: `m${i}`.repeat(40) }] });
    }
    // Enough fresh rows for several chunks (a row is a few bytes).
    for (let i = 0; i < 40; i++) {
      h.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', batch: true, messages: Array.from({ length: 100 }, (_, k) => ({ body: `r${i}.${k}` })) });
    }
    const expected = h.broker.snapshot();
    const chunks: Uint8Array[] = [];
    const it = h.broker.snapshotChunks(4096)[Symbol.iterator]();
    let first = it.next();
    // Change everything a snapshot covers before pulling the rest.
    h.advance(60_000);
    h.ok({ type: 'queue.receive', user: 'alice', queue: 'dlq', max: 20 });
    h.ok({ type: 'queue.purge', user: 'alice', queue: 'q' });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', batch: false, messages: [{ body: 'late' }] });
    h.ok({ type: 'queue.purge', user: 'alice', queue: 'dlq' });
    h.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', batch: false, messages: [{ body: 'later' }] });
    h.ok({ type: 'subscription.delete', user: 'bob', topic: 't', subscription: 's2' });
    h.ok({ type: 'user.register', username: 'zoe', passwordHash: 'z' });
    while (!first.done) {
      chunks.push(first.value);
      first = it.next();
    }
    expect(chunks.length).toBeGreaterThan(3);
    const joined = Buffer.concat(chunks.map((c) => Buffer.from(c)));
    expect(joined.equals(Buffer.from(expected))).toBe(true);
    const copy = new Broker();
    copy.restore(new Uint8Array(joined));
    expect(copy.listQueues('alice')).not.toEqual(h.broker.listQueues('alice'));
  });

  test('the hash tells different states apart', () => {
    const a = busy();
    const b = busy();
    expect(a.broker.stateHash()).toBe(b.broker.stateHash());
    b.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', messages: [{ body: '!' }], batch: false });
    expect(a.broker.stateHash()).not.toBe(b.broker.stateHash());
  });

  test('a truncated or foreign image is refused', () => {
    const image = busy().broker.snapshot();
    expect(() => new Broker().restore(image.subarray(0, image.length - 3))).toThrow(BrokerError);
    expect(() => new Broker().restore(new Uint8Array([1, 2, 3]))).toThrow(BrokerError);
  });

  test('an empty broker round-trips', () => {
    const a = new Broker();
    const b = new Broker();
    b.restore(a.snapshot());
    expect(b.stateHash()).toBe(a.stateHash());
  });
});

describe('a version-1 snapshot (before receipt keys and bounded idempotency records)', () => {
  function restoredV1(): Harness {
    const h = new Harness();
    h.broker.restore(Buffer.from(V1_IMAGE_BASE64, 'base64'));
    h.index = V1_INDEX;
    h.time = V1_TIME;
    return h;
  }

  test('restores: default limits, usage counted, old leases keep their handles', () => {
    const h = restoredV1();
    expect(h.broker.limits()).toEqual(DEFAULT_LIMITS);
    expect(h.broker.hasReceiptKey()).toBe(false);
    // one + k + v, two, three in q; pub in t's log.
    expect(h.broker.usageOf('alice')).toEqual({ queues: 1, topics: 1, subscriptions: 1, grants: 1, queuedBytes: 16 });
    expect(h.ok({ type: 'queue.ack', user: 'bob', queue: 'q', receiptHandles: ['6.0'] })).toEqual({ acked: 1, unknown: [] });
    // Its next receive brings a key: from then on handles are minted.
    const got = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 5, receiptKey: TEST_RECEIPT_KEY });
    expect(got.messages.map((m: { body: string; receiptHandle: string }) => [m.body, m.receiptHandle.length])).toEqual([['three', 22]]);
  });

  test('idempotency records replay as before, except a register\'s, which is dropped', () => {
    const h = restoredV1();
    expect(h.apply({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, idempotencyKey: 'send-1', messages: [{ body: 'again' }] }))
      .toMatchObject({ ok: true, value: { messages: [{ id: '5-0' }, { id: '5-1' }, { id: '5-2' }] }, replayOf: 'queue.send' });
    expect(h.apply({ type: 'queue.receive', user: 'alice', queue: 'q', max: 2, idempotencyKey: 'recv-1' }))
      .toMatchObject({ ok: true, value: { messages: [{ id: '5-0', receiptHandle: '6.0' }, { id: '5-1', receiptHandle: '6.1' }] }, replayOf: 'queue.receive' });
    // bob's record planted by a register is gone: his own write with that key runs.
    expect(h.apply({ type: 'queue.send', user: 'bob', queue: 'q', batch: false, idempotencyKey: 'planted', messages: [{ body: 'mine' }] }))
      .toEqual({ ok: true, value: { id: `${h.index.toString(36)}-0`, deduplicated: false } });
    // Written again it is a version-3 image that restores to the same state; the old
    // messages keep their bodies inline (their entries are not in this log).
    const copy = h.restored();
    expect(copy.broker.stateHash()).toBe(h.broker.stateHash());
    expect(copy.broker.retainFrom()).toBe(h.broker.retainFrom());
    const receive: Command = { type: 'queue.receive', user: 'alice', queue: 'q', max: 10, visibilityTimeoutMs: 0 };
    expect(copy.apply(receive)).toEqual(h.apply(receive));
    expect((h.apply(receive) as { value: { messages: { body: string }[] } }).value.messages.map((m) => m.body)).toContain('three');
  });
});
