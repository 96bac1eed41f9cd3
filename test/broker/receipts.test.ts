import { Broker, type CommandOf, type ReceivedView } from '../../src/broker/index.js';
import { Harness, TEST_RECEIPT_KEY } from './harness.js';

const OTHER_KEY = 'a'.repeat(64);

/** alice owns q with three messages; bob may receive from it too. */
function setup(): Harness {
  const h = new Harness();
  h.register('alice', 'bob');
  h.ok({ type: 'queue.create', user: 'alice', name: 'q' });
  h.ok({ type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['receive'] });
  h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] });
  return h;
}

const receive = (user: string, max: number, receiptKey?: string): CommandOf<'queue.receive'> => ({
  type: 'queue.receive', user, queue: 'q', max, ...(receiptKey !== undefined && { receiptKey }),
});

/** Flips one character of a handle (stays base64url). */
function alter(handle: string): string {
  const c = handle[5] === 'A' ? 'B' : 'A';
  return handle.slice(0, 5) + c + handle.slice(6);
}

describe('receipt handles', () => {
  test('carry 128 bits from the cluster key, not the log position', () => {
    const h = setup();
    const got = h.ok<{ messages: ReceivedView[] }>(receive('alice', 3, TEST_RECEIPT_KEY)).messages;
    expect(got).toHaveLength(3);
    for (const m of got) {
      // 16 bytes as base64url: 22 characters.
      expect(m.receiptHandle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(m.receiptHandle, 'base64url')).toHaveLength(16);
    }
    expect(new Set(got.map((m) => m.receiptHandle)).size).toBe(3);
    // The old handle of this receive would have been "<index>.<position>".
    expect(got.map((m) => m.receiptHandle)).not.toContain(`${h.index.toString(36)}.0`);
  });

  test('a co-consumer cannot ack, nack or extend a lease by forging or altering its handle', () => {
    const h = setup();
    const [leased] = h.ok<{ messages: ReceivedView[] }>(receive('alice', 1, TEST_RECEIPT_KEY)).messages;
    const forged = [alter(leased.receiptHandle), `${h.index.toString(36)}.0`, leased.receiptHandle.toLowerCase(), leased.receiptHandle + 'A'];
    expect(h.ok({ type: 'queue.ack', user: 'bob', queue: 'q', receiptHandles: forged })).toEqual({ acked: 0, unknown: forged });
    expect(h.ok({ type: 'queue.nack', user: 'bob', queue: 'q', receiptHandles: forged })).toEqual({ released: 0, unknown: forged });
    for (const receiptHandle of forged) {
      h.fails({ type: 'queue.visibility', user: 'bob', queue: 'q', receiptHandle, visibilityTimeoutMs: 0 }, 'not_found');
    }
    // The lease is untouched: still in flight, and its true handle still acks it.
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 2, inflight: 1 } } });
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [leased.receiptHandle] })).toEqual({ acked: 1, unknown: [] });
  });

  test('every replica derives the same handles, a restored one too; another key gives others', () => {
    const a = setup();
    const b = setup();
    const c = setup();
    const first = a.ok<{ messages: ReceivedView[] }>(receive('alice', 1, TEST_RECEIPT_KEY)).messages;
    expect(b.ok<{ messages: ReceivedView[] }>(receive('alice', 1, TEST_RECEIPT_KEY)).messages).toEqual(first);
    expect(c.ok<{ messages: ReceivedView[] }>(receive('alice', 1, OTHER_KEY)).messages[0].receiptHandle).not.toBe(first[0].receiptHandle);

    // The key is in the snapshot: a replica restored from it mints what the others mint.
    const restored = a.restored();
    expect(restored.broker.hasReceiptKey()).toBe(true);
    const next = a.ok<{ messages: ReceivedView[] }>(receive('bob', 2)).messages;
    expect(restored.ok<{ messages: ReceivedView[] }>(receive('bob', 2)).messages).toEqual(next);
    expect(restored.broker.stateHash()).toBe(a.broker.stateHash());
  });

  test('the first key applied stays the key: a later candidate changes nothing', () => {
    const a = setup();
    const b = setup();
    a.ok(receive('alice', 1, TEST_RECEIPT_KEY));
    b.ok(receive('alice', 1, TEST_RECEIPT_KEY));
    const withOther = a.ok<{ messages: ReceivedView[] }>(receive('alice', 1, OTHER_KEY)).messages;
    const withoutKey = b.ok<{ messages: ReceivedView[] }>(receive('alice', 1)).messages;
    expect(withOther).toEqual(withoutKey);
  });

  test('each lease of a message gets a new handle; the old one is unknown', () => {
    const h = setup();
    const [first] = h.ok<{ messages: ReceivedView[] }>({ ...receive('alice', 1, TEST_RECEIPT_KEY), visibilityTimeoutMs: 1000 }).messages;
    h.advance(1000);
    const [again] = h.ok<{ messages: ReceivedView[] }>(receive('bob', 1)).messages;
    expect(again.id).toBe(first.id);
    expect(again.receiveCount).toBe(2);
    expect(again.receiptHandle).not.toBe(first.receiptHandle);
    expect(h.ok({ type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: [first.receiptHandle] })).toEqual({ acked: 0, unknown: [first.receiptHandle] });
  });

  test('subscriptions mint from the same key', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name: 's' });
    h.ok({ type: 'topic.publish', user: 'alice', topic: 't', batch: false, messages: [{ body: 'x' }] });
    const [m] = h.ok<{ messages: ReceivedView[] }>({
      type: 'subscription.receive', user: 'alice', topic: 't', subscription: 's', receiptKey: TEST_RECEIPT_KEY,
    }).messages;
    expect(m.receiptHandle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const bad = alter(m.receiptHandle);
    expect(h.ok({ type: 'subscription.ack', user: 'alice', topic: 't', subscription: 's', receiptHandles: [bad] })).toEqual({ acked: 0, unknown: [bad] });
  });

  test('entries of logs from before receipt keys keep their "<index>.<position>" handles', () => {
    const h = setup();
    expect(h.broker.hasReceiptKey()).toBe(false);
    const got = h.ok<{ messages: ReceivedView[] }>(receive('alice', 2)).messages;
    expect(got.map((m) => m.receiptHandle)).toEqual([`${h.index.toString(36)}.0`, `${h.index.toString(36)}.1`]);
  });

  test('a receive carrying a malformed key is refused whole', () => {
    const h = setup();
    h.fails(receive('alice', 1, 'not-hex'), 'validation_failed');
    h.fails(receive('alice', 1, 'ab'.repeat(16)), 'validation_failed');
    expect(new Broker().hasReceiptKey()).toBe(false);
    expect(h.broker.getQueue('alice', 'q')).toMatchObject({ ok: true, value: { stats: { ready: 3, inflight: 0 } } });
  });
});
