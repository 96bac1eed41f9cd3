import fc from 'fast-check';
import { BodySpans, scanBodySpans } from '../../src/api/body-spans.js';
import { parseJsonBody } from '../../src/api/body.js';
import { parseSendBody } from '../../src/api/routes/messages.js';
import { MAX_BATCH, MAX_MESSAGE_BYTES, bodyOnlySendBody, encodeBodySpansCommand, encodeCommand, type SendHead } from '../../src/broker/index.js';

/** The request's bytes at byte offset `at` of a larger buffer (word alignment varies). */
function at(text: string | Buffer, offset: number): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const big = Buffer.alloc(bytes.length + 8, 0x7b);
  bytes.copy(big, offset);
  return big.subarray(offset, offset + bytes.length);
}

/** What the JSON path makes of a body the scan took: the same messages, batch or not. */
function jsonPath(raw: Buffer): { batch: boolean; messages: Array<{ body: string }> } | undefined {
  const shape = bodyOnlySendBody(parseJsonBody(raw));
  if (shape === undefined) return undefined;
  return 'messages' in shape ? { batch: true, messages: shape.messages } : { batch: false, messages: [shape] };
}

const whitespace = fc.array(fc.constantFrom(' ', '\n', '\r', '\t'), { maxLength: 3 }).map((a) => a.join(''));
/** Bodies with and without characters JSON must escape, and non-ASCII text. */
const bodyText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '"', '\\', '\n', '\u0001', '/'), maxLength: 40 }),
);

/** `{"messages": [...]}` or `{"body": ...}` as JSON.stringify writes it, with whitespace between the tokens. */
const request = fc
  .record({
    batch: fc.boolean(),
    bodies: fc.array(bodyText, { minLength: 0, maxLength: MAX_BATCH + 2 }),
    ws: fc.array(whitespace, { minLength: 12, maxLength: 12 }),
  })
  .map(({ batch, bodies, ws }) => {
    const message = (b: string) => `{${ws[0]}"body"${ws[1]}:${ws[2]}${JSON.stringify(b)}${ws[3]}}`;
    const text = batch
      ? `${ws[4]}{${ws[5]}"messages"${ws[6]}:${ws[7]}[${ws[8]}${bodies.map(message).join(`${ws[9]},${ws[10]}`)}]${ws[11]}}${ws[0]}`
      : `${ws[4]}${message(bodies[0] ?? '')}${ws[5]}`;
    return { text, batch, bodies: batch ? bodies : [bodies[0] ?? ''] };
  });

describe('scanBodySpans', () => {
  test('finds what the JSON path finds, and takes every body-only request without escapes (4,000 cases, 4 alignments)', () => {
    let taken = 0;
    fc.assert(
      fc.property(request, fc.integer({ min: 0, max: 3 }), ({ text, batch, bodies }, offset) => {
        const raw = at(text, offset);
        const spans = scanBodySpans(raw);
        const needsEscape = bodies.some((b) => JSON.stringify(b).slice(1, -1) !== b);
        const fits = bodies.length >= 1 && bodies.length <= MAX_BATCH && bodies.every((b) => Buffer.byteLength(b) <= MAX_MESSAGE_BYTES);
        if (!needsEscape && fits) expect(spans).toBeDefined();
        if (spans === undefined) return;
        taken++;
        expect(needsEscape).toBe(false);
        expect({ batch: spans.batch, messages: spans.messages() }).toEqual(jsonPath(raw));
        expect(spans.batch).toBe(batch);
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(1000);
  });

  test.each([
    ['an escape in a body', '{"body":"a\\nb"}'],
    ['an escaped quote', '{"messages":[{"body":"a\\"b"}]}'],
    ['a raw control character (not JSON)', '{"body":"a\u0001b"}'],
    ['a raw tab in a long body (not JSON)', `{"body":"${'x'.repeat(37)}\t${'y'.repeat(40)}"}`],
    ['another field', '{"body":"a","delayMs":5}'],
    ['a second body key', '{"body":"a","body":"b"}'],
    ['a field beside messages', '{"messages":[{"body":"a"}],"x":1}'],
    ['attributes', '{"messages":[{"body":"a","attributes":{"k":"v"}}]}'],
    ['a number for a body', '{"body":1}'],
    ['no messages', '{"messages":[]}'],
    ['messages not a list', '{"messages":{"body":"a"}}'],
    ['a trailing comma', '{"messages":[{"body":"a"},]}'],
    ['trailing bytes', '{"body":"a"}x'],
    ['an unterminated body', '{"body":"abc'],
    ['an empty request', ''],
    ['whitespace only', ' \n'],
    ['a list', '[{"body":"a"}]'],
    ['a byte-order mark', '\ufeff{"body":"a"}'],
    ['a non-breaking space between tokens', '{\u00a0"body":"a"}'],
  ])('leaves %s to the JSON path', (_, text) => {
    for (let offset = 0; offset < 4; offset++) expect(scanBodySpans(at(text, offset))).toBeUndefined();
  });

  test('leaves bytes that are not UTF-8 to the JSON path (which refuses them)', () => {
    const raw = Buffer.concat([Buffer.from('{"body":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('b"}')]);
    expect(scanBodySpans(raw)).toBeUndefined();
    expect(() => parseJsonBody(raw)).toThrow('not valid UTF-8');
  });

  test('leaves a batch over the limit and a body over the size limit to the JSON path (which answers 400 and 413)', () => {
    const many = JSON.stringify({ messages: Array.from({ length: MAX_BATCH + 1 }, () => ({ body: 'a' })) });
    expect(scanBodySpans(Buffer.from(many))).toBeUndefined();
    expect(scanBodySpans(Buffer.from(JSON.stringify({ messages: Array.from({ length: MAX_BATCH }, () => ({ body: 'a' })) })))).toBeDefined();
    expect(scanBodySpans(Buffer.from(JSON.stringify({ body: 'x'.repeat(MAX_MESSAGE_BYTES + 1) })))).toBeUndefined();
    expect(scanBodySpans(Buffer.from(JSON.stringify({ body: 'x'.repeat(MAX_MESSAGE_BYTES) })))).toBeDefined();
    expect(() => parseSendBody(JSON.parse(many))).toThrow();
  });
});

describe('encodeBodySpansCommand', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,10}$/);
  const head = fc.record(
    {
      type: fc.constantFrom('queue.send' as const, 'topic.publish' as const),
      user: name,
      target: name,
      batch: fc.boolean(),
      idempotencyKey: fc.stringMatching(/^[\x20-\x7E]{1,20}$/),
      producer: fc.constant(true),
    },
    { requiredKeys: ['type', 'user', 'target', 'batch'] },
  );

  test('writes the bytes encodeCommand writes for the same command with string bodies (2,000 cases)', () => {
    fc.assert(
      fc.property(head, fc.array(bodyText, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 40 }), (h, bodies, headroom) => {
        const text = JSON.stringify({ messages: bodies.map((body) => ({ body })) });
        const spans = scanBodySpans(Buffer.from(text));
        fc.pre(spans !== undefined);
        const sendHead = {
          type: h.type,
          user: h.user,
          ...(h.type === 'queue.send' ? { queue: h.target } : { topic: h.target }),
          batch: h.batch,
          ...(h.idempotencyKey !== undefined && { idempotencyKey: h.idempotencyKey }),
          ...(h.producer !== undefined && { producer: { id: 'p1', frames: [{ seq: 7, count: bodies.length }] } }),
        } as SendHead;
        const fast = encodeBodySpansCommand(sendHead, spans.source, spans.spans, headroom);
        const slow = encodeCommand({ ...sendHead, messages: bodies.map((body) => ({ body })) }, headroom);
        expect(fast).toBeDefined();
        expect(Buffer.from(fast!).equals(Buffer.from(slow))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('declines a head its schema refuses, so the command goes through the schema', () => {
    const spans = scanBodySpans(Buffer.from('{"messages":[{"body":"a"},{"body":"b"}]}')) as BodySpans;
    const good = { type: 'queue.send', user: 'alice', queue: 'q', batch: true } as SendHead;
    expect(encodeBodySpansCommand(good, spans.source, spans.spans)).toBeDefined();
    for (const bad of [
      { ...good, user: 'not a name' },
      { ...good, queue: '' },
      { ...good, idempotencyKey: 'tab\there' },
      { ...good, producer: { id: 'p', frames: [{ seq: 1, count: 3 }] } },
    ] as SendHead[]) {
      expect(encodeBodySpansCommand(bad, spans.source, spans.spans)).toBeUndefined();
    }
  });
});
