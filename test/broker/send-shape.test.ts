import fc from 'fast-check';
import { ZodError } from 'zod';
import { BrokerError, commandSchema, decodeCommand, encodeCommand, type Command } from '../../src/broker/index.js';
import { encodeSendBinary, VALIDATED_SEND_TAG } from '../../src/broker/send-codec.js';
import { bodyOnlySendBody, isValidBodyOnlySend } from '../../src/broker/send-shape.js';
import { parsePublishBody, parseSendBody } from '../../src/api/routes/messages.js';
import { PublishBatch, PublishMessage, SendBatch, SendMessage } from '../../src/api/schemas.js';

/** What the API did before the hand check: zod alone (same `messages` rule). */
function zodSend(json: unknown): { ok: true; value: unknown } | { ok: false; issues: unknown } {
  const isBatch = typeof json === 'object' && json !== null && 'messages' in json;
  const parsed = (isBatch ? SendBatch : SendMessage).safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: parsed.error.issues };
}

function zodPublish(json: unknown): { ok: true; value: unknown } | { ok: false; issues: unknown } {
  const isBatch = typeof json === 'object' && json !== null && 'messages' in json;
  const parsed = (isBatch ? PublishBatch : PublishMessage).safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: parsed.error.issues };
}

function outcome(parse: (json: unknown) => unknown, json: unknown): { ok: true; value: unknown } | { ok: false; issues: unknown } {
  try {
    return { ok: true, value: parse(json) };
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    return { ok: false, issues: err.issues };
  }
}

const body = (n: number) => Array.from({ length: n }, (_, i) => ({ body: `m${i}` }));

/** Request bodies near the body-only shape, valid and not (the JSON a client can send). */
const nearBodyOnly: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ body: fc.oneof(fc.string(), fc.constant('\ud800'), fc.constant('a\udc00b'), fc.integer(), fc.constant(null)) }),
  fc.record({ body: fc.string(), delayMs: fc.oneof(fc.integer({ min: -5, max: 1_000_000 }), fc.constant('1')) }, { requiredKeys: ['body'] }),
  fc.record({ body: fc.string(), extra: fc.string() }),
  fc.constant(JSON.parse('{"body":"x","__proto__":"y"}') as unknown),
  fc.constant(JSON.parse('{"messages":[{"body":"x"}],"__proto__":{}}') as unknown),
  fc.constant([{ body: 'x' }]),
  fc.constant(null),
  fc.constant('x'),
  fc.integer({ min: 0, max: 102 }).map((n) => ({ messages: body(n) })),
  fc.array(fc.oneof(
    fc.record({ body: fc.oneof(fc.string(), fc.constant('\udfff'), fc.integer()) }),
    fc.record({ body: fc.string(), attributes: fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 })) }),
    fc.record({ body: fc.string(), deduplicationId: fc.string({ maxLength: 3 }) }),
    fc.record({ body: fc.string(), priority: fc.integer() }),
    fc.constant(null),
    fc.constant([]),
  ), { maxLength: 5 }).map((messages) => ({ messages })),
  fc.record({ messages: fc.constant(body(2)), extra: fc.boolean() }),
  fc.record({ messages: fc.oneof(fc.constant({}), fc.constant('m'), fc.constant(null)) }),
);

describe('body-only sends are checked by hand with the schemas\' verdict', () => {
  test('the usual shapes are taken without the schema, as they came', () => {
    const single = { body: 'héllo ✓' };
    const batch = { messages: body(100) };
    expect(bodyOnlySendBody(single)).toBe(single);
    expect(bodyOnlySendBody(batch)).toEqual(batch);
    expect((bodyOnlySendBody(batch) as { messages: unknown }).messages).toBe(batch.messages);
  });

  test('anything else is left to the schema', () => {
    for (const json of [
      { body: 'x', attributes: { a: 'b' } }, { body: 'x', delayMs: 1 }, { body: '\ud800' }, { body: 1 },
      { messages: [] }, { messages: body(101) }, { messages: [{ body: 'x', delayMs: 5 }] }, { messages: body(1), x: 1 },
      JSON.parse('{"body":"x","__proto__":"y"}'), Object.assign(Object.create(null), { body: 'x' }), [{ body: 'x' }], null,
    ]) expect(bodyOnlySendBody(json)).toBeUndefined();
  });

  test('a request body gets the same value or the same errors as from zod alone (sends and publishes)', () => {
    fc.assert(fc.property(nearBodyOnly, (json) => {
      expect(outcome(parseSendBody, json)).toEqual(zodSend(json));
      expect(outcome(parsePublishBody, json)).toEqual(zodPublish(json));
    }), { numRuns: 2000 });
  });

  test('a command: the same bytes as after the schema, or the schema decides', () => {
    const base = { type: 'queue.send', user: 'alice', queue: 'orders', batch: true, messages: body(100) } as const;
    const valid: Command[] = [
      base,
      { ...base, idempotencyKey: 'key-1' },
      { type: 'topic.publish', user: 'bob', topic: 't.1', batch: false, messages: [{ body: 'x' }] },
    ];
    for (const c of valid) {
      expect(isValidBodyOnlySend(c)).toBe(true);
      const bytes = encodeCommand(c);
      expect(bytes[0]).toBe(VALIDATED_SEND_TAG);
      expect(bytes).toEqual(encodeSendBinary(commandSchema.parse(c)));
      expect(decodeCommand(bytes)).toEqual(c);
    }
    // A producer (what the stream client sends with every frame) is checked by hand too.
    const withProducer = { ...base, producer: { id: 'p1', frames: [{ seq: 0, count: 100 }] } } as Command;
    expect(isValidBodyOnlySend(withProducer)).toBe(true);
    expect(encodeCommand(withProducer)).toEqual(encodeSendBinary(commandSchema.parse(withProducer)));
    const badProducer = { ...base, producer: { id: 'p1', frames: [{ seq: 0, count: 99 }] } } as Command;
    expect(isValidBodyOnlySend(badProducer)).toBe(false);
    expect(() => decodeCommand(encodeCommand(badProducer))).toThrow(BrokerError);
    const invalid = [
      { ...base, user: 'bad name' }, { ...base, queue: '-q' }, { ...base, idempotencyKey: 'a\nb' },
      { ...base, idempotencyKey: 'k'.repeat(129) }, { ...base, batch: 'yes' }, { ...base, messages: body(101) },
      { ...base, messages: [] }, { ...base, messages: [{ body: '\ud800' }] }, { ...base, messages: [{ body: 5 }] },
    ];
    for (const c of invalid) {
      expect(isValidBodyOnlySend(c)).toBe(false);
      expect(commandSchema.safeParse(c).success).toBe(false);
      // Written unvalidated, so that every replica refuses it on apply.
      expect(() => decodeCommand(encodeCommand(c as Command))).toThrow(BrokerError);
    }
  });

  test('a producer: the hand check accepts exactly what the command schema accepts', () => {
    const frame = fc.oneof(
      fc.record({ seq: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(Number.MAX_SAFE_INTEGER + 1), fc.constant(1.5), fc.constant('1')), count: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(101), fc.constant(2.5)) }),
      fc.record({ seq: fc.nat(5), count: fc.integer({ min: 1, max: 3 }), extra: fc.boolean() }),
      fc.record({ seq: fc.nat(5) }),
      fc.constant(null),
    );
    // Mostly valid frames (a negative sequence or a zero count now and then).
    const validFrame = fc.record({ seq: fc.integer({ min: -1, max: 3 }), count: fc.integer({ min: 0, max: 3 }) });
    const producer = fc.oneof(
      { arbitrary: fc.record({ id: fc.constant('p_1'), frames: fc.array(validFrame, { minLength: 1, maxLength: 4 }) }), weight: 6 },
      fc.record({ id: fc.oneof(fc.constant('p-1'), fc.constant(''), fc.constant('bad id'), fc.constant('x'.repeat(65)), fc.integer()), frames: fc.array(frame, { maxLength: 4 }) }),
      fc.record({ id: fc.constant('p'), frames: fc.array(frame, { minLength: 1, maxLength: 3 }), more: fc.constant(1) }),
      fc.constant(JSON.parse('{"id":"p","frames":[{"seq":0,"count":1}],"__proto__":{}}') as unknown),
      fc.constant([]),
      fc.constant(null),
    );
    const seen = { accepted: 0, refused: 0 };
    // Half the time as many messages as the frames count (when they add up to 1..100).
    const messages = fc.oneof(fc.constant('as counted' as const), fc.integer({ min: 1, max: 6 }));
    fc.assert(fc.property(producer, messages, fc.boolean(), (generated, m, topic) => {
      // As JSON gives them (plain objects; fast-check also makes null-prototype ones,
      // which the hand check leaves to the schema).
      const p = JSON.parse(JSON.stringify(generated)) as { frames?: Array<{ count?: unknown }> } | null;
      const counted = Array.isArray(p?.frames) ? p.frames.reduce((t, f) => t + (typeof f?.count === 'number' ? f.count : 0), 0) : 0;
      const n = m === 'as counted' ? Math.min(100, Math.max(1, Math.round(counted))) : m;
      const c = topic
        ? { type: 'topic.publish', user: 'bob', topic: 't', batch: true, messages: body(n), producer: p }
        : { type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: body(n), producer: p };
      const schema = commandSchema.safeParse(c);
      expect(isValidBodyOnlySend(c)).toBe(schema.success);
      seen[schema.success ? 'accepted' : 'refused']++;
      if (schema.success) expect(encodeCommand(c as Command)).toEqual(encodeSendBinary(schema.data));
    }), { numRuns: 3000 });
    // Both verdicts are exercised, not only refusals.
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });
});
