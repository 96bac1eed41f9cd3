import { Broker, encodeCommand, MessageBodyMissingError, type Command, type CommandResult } from '../../src/broker/index.js';
import { decodeSendMeta } from '../../src/broker/send-codec.js';
import { messageBytes } from '../../src/broker/limits.js';
import { Harness } from './harness.js';

/** Bodies live in the log (README, Where bodies live): what apply keeps, what answers
 *  read, and which entries the state pins. */
function setup(): Harness {
  const h = new Harness();
  h.register('alice');
  h.ok({ type: 'queue.create', user: 'alice', name: 'dlq' });
  h.ok({ type: 'queue.create', user: 'alice', name: 'q', maxReceives: 1, deadLetterQueue: 'dlq', visibilityTimeoutMs: 1000 });
  return h;
}

function send(h: Harness, bodies: string[], queue = 'q'): number {
  h.ok({ type: 'queue.send', user: 'alice', queue, batch: true, messages: bodies.map((body) => ({ body })) });
  return h.index;
}

function receive(h: Harness, queue = 'q', max = 10): { body: string; receiptHandle: string }[] {
  return h.ok({ type: 'queue.receive', user: 'alice', queue, max }).messages;
}

function ack(h: Harness, handles: string[], queue = 'q'): void {
  h.ok({ type: 'queue.ack', user: 'alice', queue, receiptHandles: handles });
}

describe('message bodies in the log', () => {
  test('apply measures a binary send without its bodies: the sizes quotas count', () => {
    const messages = [
      { body: 'ünïcödé ✓', attributes: { 'ключ': 'значение', k: '' } },
      { body: '', deduplicationId: 'd' },
      { body: 'x'.repeat(1000), delayMs: 5 },
    ];
    const meta = decodeSendMeta(encodeCommand({ type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages }));
    expect(meta).toEqual({
      type: 'queue.send', user: 'alice', queue: 'q', batch: true,
      messages: [{ bytes: messageBytes(messages[0]) }, { bytes: 0, deduplicationId: 'd' }, { bytes: 1000, delayMs: 5 }],
    });
  });

  test('answers read bodies and attributes from the entries; JSON entries of older logs too', () => {
    const h = setup();
    send(h, ['a', 'b']);
    const json = new TextEncoder().encode(JSON.stringify({
      type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'old', attributes: { k: 'v' } }],
    }));
    expect(h.applyBytes(json)).toMatchObject({ ok: true, value: { deduplicated: false } });
    const got = h.ok({ type: 'queue.receive', user: 'alice', queue: 'q', max: 10 }).messages;
    expect(got.map((m: { body: string; attributes: unknown }) => [m.body, m.attributes])).toEqual([['a', {}], ['b', {}], ['old', { k: 'v' }]]);
    expect(Object.keys(got[0])).toEqual(['id', 'body', 'attributes', 'receiptHandle', 'receiveCount', 'sentAt']);
    // Queue usage counts the JSON message as it counted it before: body plus attribute.
    expect(h.broker.usageOf('alice').queuedBytes).toBe(1 + 1 + 3 + 2);
  });

  test('a receive reads each entry once for the messages it takes from it', () => {
    const h = setup();
    const at = send(h, Array.from({ length: 20 }, (_, i) => `m${i}`));
    const reads: number[] = [];
    const bytes = encodeCommand({ type: 'queue.receive', user: 'alice', queue: 'q', max: 20 });
    h.index++;
    const raw = h.broker.apply(bytes, { index: h.index, term: 1, time: h.time });
    const answered = h.broker.answer(raw, (i) => {
      reads.push(i);
      return h.log.read(i);
    }) as CommandResult<{ messages: { body: string }[] }>;
    expect(answered.ok && answered.value.messages.map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(reads).toEqual([at]);
  });

  test('a live message whose entry is gone is an error, never an empty body', () => {
    const h = setup();
    const at = send(h, ['a']);
    h.log.dropBelow(at + 1);
    expect(() => receive(h)).toThrow(MessageBodyMissingError);
  });

  test('retainFrom is the oldest entry a live message needs, in every state, dead-letter queues too', () => {
    const h = setup();
    expect(h.broker.retainFrom()).toBeUndefined();
    const first = send(h, ['a', 'b']);
    const second = send(h, ['c']);
    expect(h.broker.retainFrom()).toBe(first);
    const [a, b] = receive(h, 'q', 2);
    ack(h, [a.receiptHandle]);
    expect(h.broker.retainFrom()).toBe(first);
    // b's lease ends with maxReceives 1: it moves to the DLQ and keeps its entry.
    h.advance(1000);
    h.tick();
    expect(h.broker.getQueue('alice', 'dlq')).toMatchObject({ value: { stats: { ready: 1 } } });
    expect(h.broker.retainFrom()).toBe(first);
    expect(b.receiptHandle).toBeDefined();
    const [moved] = receive(h, 'dlq');
    expect(moved.body).toBe('b');
    ack(h, [moved.receiptHandle], 'dlq');
    expect(h.broker.retainFrom()).toBe(second);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'later', delayMs: 60_000 }] });
    h.ok({ type: 'queue.purge', user: 'alice', queue: 'q' });
    expect(h.broker.retainFrom()).toBeUndefined();
    send(h, ['x']);
    h.ok({ type: 'queue.delete', user: 'alice', queue: 'q' });
    expect(h.broker.retainFrom()).toBeUndefined();
  });

  test('a topic stores one record per publish for all its subscriptions; leases keep the entry after the log lets go', () => {
    const h = new Harness();
    h.register('alice');
    h.ok({ type: 'topic.create', user: 'alice', name: 't' });
    for (const name of ['s1', 's2', 's3']) h.ok({ type: 'subscription.create', user: 'alice', topic: 't', name });
    h.ok({ type: 'topic.publish', user: 'alice', topic: 't', batch: true, messages: [{ body: 'xy' }, { body: 'z' }] });
    const at = h.index;
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ value: { stats: { retained: 2 } } });
    expect(h.broker.usageOf('alice').queuedBytes).toBe(3);
    const leases: string[][] = [];
    for (const subscription of ['s1', 's2', 's3']) {
      const got = h.ok({ type: 'subscription.receive', user: 'alice', topic: 't', subscription, max: 10 }).messages;
      expect(got.map((m: { body: string }) => m.body)).toEqual(['xy', 'z']);
      leases.push(got.map((m: { receiptHandle: string }) => m.receiptHandle));
    }
    // Every subscription took both: the log let go of them, the leases still pin the entry.
    expect(h.broker.getTopic('alice', 't')).toMatchObject({ value: { stats: { retained: 0 } } });
    expect(h.broker.retainFrom()).toBe(at);
    for (const [k, subscription] of ['s1', 's2'].entries()) {
      h.ok({ type: 'subscription.ack', user: 'alice', topic: 't', subscription, receiptHandles: leases[k] });
    }
    expect(h.broker.retainFrom()).toBe(at);
    h.ok({ type: 'topic.delete', user: 'alice', topic: 't' });
    expect(h.broker.retainFrom()).toBeUndefined();
  });

  test('a restored replica pins the same entries as many times: releasing everything leaves none', () => {
    const h = setup();
    const first = send(h, ['a', 'b', 'c']);
    send(h, ['d', 'e']);
    h.ok({ type: 'queue.send', user: 'alice', queue: 'dlq', batch: false, messages: [{ body: 'f', delayMs: 10 }] });
    receive(h, 'q', 1);
    const copy = h.restored();
    expect(copy.broker.retainFrom()).toBe(first);
    copy.advance(1000);
    const all = [...receive(copy, 'q', 10), ...receive(copy, 'dlq', 10)];
    expect(all.map((m) => m.body).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    ack(copy, all.filter((m) => 'bcde'.includes(m.body)).map((m) => m.receiptHandle));
    expect(copy.broker.retainFrom()).toBe(first);
    ack(copy, all.filter((m) => 'af'.includes(m.body)).map((m) => m.receiptHandle), 'dlq');
    expect(copy.broker.retainFrom()).toBeUndefined();
  });

  test('the snapshot does not grow with body bytes', () => {
    const image = (bodyBytes: number): Uint8Array => {
      const h = setup();
      for (let i = 0; i < 20; i++) send(h, Array.from({ length: 100 }, () => 'b'.repeat(bodyBytes)));
      return h.broker.snapshot();
    };
    const small = image(10);
    const large = image(10_000);
    // Only the sizes' varints differ (1 byte for 10, 2 for 10,000).
    expect(large.length - small.length).toBeLessThanOrEqual(2000);
    expect(small.length).toBeLessThan(2000 * 8 + 1024);
  });

  test('followers never answer: apply alone keeps no body anywhere', () => {
    const b = new Broker();
    const cmds: Command[] = [
      { type: 'user.register', username: 'alice', passwordHash: 'h' },
      { type: 'queue.create', user: 'alice', name: 'q' },
      { type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [{ body: 'SECRET-BODY' }] },
    ];
    cmds.forEach((c, i) => b.apply(encodeCommand(c), { index: i + 1, term: 1, time: 1 }));
    const r = b.apply(encodeCommand({ type: 'queue.receive', user: 'alice', queue: 'q' }), { index: 4, term: 1, time: 1 });
    expect(JSON.stringify(r)).not.toContain('SECRET-BODY');
    expect(Buffer.from(b.snapshot()).includes('SECRET-BODY')).toBe(false);
  });
});
