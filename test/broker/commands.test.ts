import fc from 'fast-check';
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

  test('limits from docs/API.md: batch of 100, max 100, idempotency key 1..128 printable', () => {
    const msgs = (n: number) => Array.from({ length: n }, () => ({ body: 'x' }));
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(100) })).not.toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(101) })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: [] })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(1), idempotencyKey: 'x'.repeat(129) })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: msgs(1), idempotencyKey: 'a\nb' })).toThrow();
    expect(() => parseCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: true, messages: [{ body: 'x', delayMs: 900_001 }] })).toThrow();
  });
});

describe('binary form of sends and publishes', () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed());
  const message = fc.record(
    {
      body: text,
      attributes: fc.dictionary(text.filter((s) => s.length > 0 && s !== '__proto__'), text, { maxKeys: 3 }),
      delayMs: fc.integer({ min: 0, max: 900_000 }),
      deduplicationId: text.filter((s) => s.length > 0),
    },
    { requiredKeys: ['body'] },
  );
  const command = fc.oneof(
    fc.record({
      type: fc.constant('queue.send' as const), user: fc.constant('alice'), queue: fc.constant('q'),
      messages: fc.array(message, { minLength: 1, maxLength: 5 }), batch: fc.boolean(),
      idempotencyKey: fc.constantFrom('k', 'key-2'),
    }, { requiredKeys: ['type', 'user', 'queue', 'messages', 'batch'] }),
    fc.record({
      type: fc.constant('topic.publish' as const), user: fc.constant('bob'), topic: fc.constant('t'),
      messages: fc.array(message.map(({ delayMs: _d, ...m }) => m), { minLength: 1, maxLength: 5 }), batch: fc.boolean(),
    }),
  );

  test('decode(encode(c)) is what validating c gives, and it is the binary form', () => {
    fc.assert(
      fc.property(command, (c) => {
        const bytes = encodeCommand(c);
        expect(bytes[0]).toBe(0x01);
        expect(decodeCommand(bytes)).toEqual(parseCommand(c));
      }),
    );
  });

  test('an attribute named __proto__ is refused, in either form, never dropped or made a prototype', () => {
    const attributes = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    const c = { type: 'queue.send', user: 'a', queue: 'q', batch: false, messages: [{ body: 'b', attributes }] } as Command;
    expect(encodeCommand(c)[0]).toBe(0x01);
    expect(() => decodeCommand(encodeCommand(c))).toThrow(BrokerError);
    expect(() => parseCommand(c)).toThrow(BrokerError);
  });

  test('what the binary form cannot carry goes as JSON and is judged by the schema', () => {
    const bad = { type: 'queue.send', user: 'a', queue: 'q', batch: false, messages: [{ body: 'x\ud800' }] } as Command;
    const bytes = encodeCommand(bad);
    expect(bytes[0]).toBe('{'.charCodeAt(0));
    expect(() => decodeCommand(bytes)).toThrow(BrokerError);
    const frac = { type: 'queue.send', user: 'a', queue: 'q', batch: false, messages: [{ body: 'x', delayMs: 1.5 }] } as Command;
    expect(encodeCommand(frac)[0]).toBe('{'.charCodeAt(0));
    expect(() => decodeCommand(encodeCommand(frac))).toThrow(BrokerError);
  });

  test('a truncated binary entry is validation_failed', () => {
    const bytes = encodeCommand({ type: 'queue.send', user: 'a', queue: 'q', batch: false, messages: [{ body: 'hello' }] });
    expect(() => decodeCommand(bytes.subarray(0, bytes.length - 2))).toThrow(BrokerError);
  });
});
