import { Broker, decodeCommand, encodeCommand, BrokerError, parseCommand, type Command } from '../../src/broker/index.js';

describe('command encoding', () => {
  test('encode then decode gives the command back', () => {
    const c: Command = {
      type: 'queue.send', user: 'alice', queue: 'q', batch: true, idempotencyKey: 'k',
      messages: [{ body: 'héllo ✓', attributes: { a: 'b' }, delayMs: 5, deduplicationId: 'd' }],
    };
    expect(decodeCommand(encodeCommand(c))).toEqual(c);
  });

  test('unknown types, bad fields and non-JSON are validation_failed with field paths', () => {
    expect(() => parseCommand({ type: 'queue.explode', user: 'a' })).toThrow(BrokerError);
    try {
      parseCommand({ type: 'queue.receive', user: 'a', queue: 'q', max: 101 });
      throw new Error('no throw');
    } catch (err) {
      expect(err).toBeInstanceOf(BrokerError);
      expect((err as BrokerError).code).toBe('validation_failed');
      expect((err as BrokerError).details).toEqual([expect.objectContaining({ path: 'max' })]);
    }
    expect(() => decodeCommand(new Uint8Array([0xff, 0x00]))).toThrow(BrokerError);
  });

  test('apply turns a malformed entry into a failed result on every replica, without throwing', () => {
    const b = new Broker();
    const r = b.apply(new TextEncoder().encode('{"type":"nope"}'), { index: 1, term: 1, time: 1000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(b.now()).toBe(1000);
  });

  test('limits from API.md: batch of 100, max 100, idempotency key 1..128 printable', () => {
    const msgs = (n: number) => Array.from({ length: n }, () => ({ body: 'x' }));
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(100) })).not.toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(101) })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: [] })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(1), idempotencyKey: 'x'.repeat(129) })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(1), idempotencyKey: 'a\nb' })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: [{ body: 'x', delayMs: 900_001 }] })).toThrow();
  });
});
