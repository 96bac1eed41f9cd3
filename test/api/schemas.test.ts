import { describe, expect, test } from '@jest/globals';
import { parsePublishBody, parseSendBody, checkMessageSizes } from '../../src/api/routes/messages.js';
import {
  CreateQueueBody,
  Name,
  ReceiveBody,
  RegisterBody,
  SendMessage,
} from '../../src/api/schemas.js';

describe('request schemas', () => {
  test.each([
    ['orders', true],
    ['a', true],
    ['A1_b.c-d', true],
    ['x'.repeat(80), true],
    ['x'.repeat(81), false],
    ['x'.repeat(10_000), false],
    ['', false],
    ['-leading', false],
    ['.hidden', false],
    ['has space', false],
    ['a/b', false],
    ['ünïcode', false],
    ['emoji😀', false],
  ])('name %p valid=%p', (name, ok) => {
    expect(Name.safeParse(name).success).toBe(ok);
  });

  test('unknown fields are refused, not ignored', () => {
    expect(CreateQueueBody.safeParse({ name: 'q', colour: 'red' }).success).toBe(false);
    expect(SendMessage.safeParse({ body: 'x', priority: 1 }).success).toBe(false);
  });

  test('defaults are filled', () => {
    expect(CreateQueueBody.parse({ name: 'q' })).toEqual({ name: 'q', visibilityTimeoutMs: 30_000, retentionMs: 345_600_000 });
    expect(ReceiveBody.parse({})).toEqual({ max: 1, waitMs: 0 });
  });

  test.each([
    [{ max: 0 }],
    [{ max: 101 }],
    [{ max: 1.5 }],
    [{ max: '1' }],
    [{ waitMs: 20_001 }],
    [{ waitMs: -1 }],
    [{ visibilityTimeoutMs: 1e20 }],
  ])('receive %p is refused', (body) => {
    expect(ReceiveBody.safeParse(body).success).toBe(false);
  });

  test('passwords are 8..128 characters', () => {
    expect(RegisterBody.safeParse({ username: 'u', password: '1234567' }).success).toBe(false);
    expect(RegisterBody.safeParse({ username: 'u', password: '12345678' }).success).toBe(true);
    expect(RegisterBody.safeParse({ username: 'u', password: 'p'.repeat(129) }).success).toBe(false);
  });

  test('send: single or batch by the messages field; batch 1..100; delay 0..900000', () => {
    expect(parseSendBody({ body: 'x' })).toEqual({ body: 'x' });
    expect(parseSendBody({ messages: [{ body: 'x', delayMs: 900_000 }] })).toEqual({ messages: [{ body: 'x', delayMs: 900_000 }] });
    expect(() => parseSendBody({ messages: [] })).toThrow();
    expect(() => parseSendBody({ messages: Array.from({ length: 101 }, () => ({ body: 'x' })) })).toThrow();
    expect(() => parseSendBody({ body: 'x', delayMs: 900_001 })).toThrow();
    expect(() => parseSendBody({ body: 'x', delayMs: -1 })).toThrow();
    expect(() => parseSendBody({ body: 1 })).toThrow();
    expect(() => parseSendBody({ body: '\ud800' })).toThrow();
    expect(() => parseSendBody({ body: 'x', attributes: JSON.parse('{"__proto__":"y"}') })).toThrow();
    expect(() => parsePublishBody({ body: 'x', delayMs: 5 })).toThrow();
  });

  test('a message body over 256 KiB of UTF-8 is 413', () => {
    expect(() => checkMessageSizes({ body: 'a'.repeat(256 * 1024) })).not.toThrow();
    expect(() => checkMessageSizes({ body: 'a'.repeat(256 * 1024 + 1) })).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
    // 2-byte characters: 128 Ki of them is exactly the limit.
    expect(() => checkMessageSizes({ messages: [{ body: 'é'.repeat(128 * 1024) }] })).not.toThrow();
    expect(() => checkMessageSizes({ messages: [{ body: 'x' }, { body: 'é'.repeat(128 * 1024 + 1) }] })).toThrow(
      expect.objectContaining({ code: 'payload_too_large', details: expect.objectContaining({ path: 'messages.1' }) }),
    );
  });

  test('attribute names and values count toward the 256 KiB, as SQS counts them', () => {
    const half = 128 * 1024;
    // Body and one attribute exactly at the limit: name 'k' (1 byte) + value.
    expect(() => checkMessageSizes({ body: 'a'.repeat(half), attributes: { k: 'v'.repeat(half - 1) } })).not.toThrow();
    expect(() => checkMessageSizes({ body: 'a'.repeat(half), attributes: { k: 'v'.repeat(half) } })).toThrow(
      expect.objectContaining({ code: 'payload_too_large', details: { path: '', limitBytes: 256 * 1024, bytes: 256 * 1024 + 1 } }),
    );
    // Names count in UTF-8 bytes: 100 names of 256 characters (509 bytes) and values of
    // 2,300 bytes are 280,900 bytes, though only 255,600 UTF-16 units.
    const attributes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${i}`.padStart(3, '0') + 'é'.repeat(253), 'x'.repeat(2300)]));
    expect(() => checkMessageSizes({ body: 'b', attributes })).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
  });

  test('at most 100 attributes, names 1..256 characters', () => {
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, 'v']));
    expect(SendMessage.safeParse({ body: 'x', attributes: attrs(100) }).success).toBe(true);
    expect(SendMessage.safeParse({ body: 'x', attributes: attrs(101) }).success).toBe(false);
    expect(SendMessage.safeParse({ body: 'x', attributes: { ['n'.repeat(256)]: 'v' } }).success).toBe(true);
    expect(SendMessage.safeParse({ body: 'x', attributes: { ['n'.repeat(257)]: 'v' } }).success).toBe(false);
    expect(SendMessage.safeParse({ body: 'x', attributes: { '': 'v' } }).success).toBe(false);
  });
});
