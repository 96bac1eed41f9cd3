// The hand checks of receive and ack bodies give the schemas' verdict: what they take
// is what ReceiveBody and AckBody give back, and everything else goes to the schema.
import { describe, expect, jest, test } from '@jest/globals';
import { ZodError } from 'zod';
import { parseAckBody, parseReceiveBody } from '../../src/api/lease-bodies.js';
import { AckBody, LIMITS, ReceiveBody } from '../../src/api/schemas.js';

/** The parser's answer: its value, or the ZodError's issues. */
function outcome(parse: (json: unknown) => unknown, json: unknown): unknown {
  try {
    return { value: parse(json) };
  } catch (err) {
    if (err instanceof ZodError) return { issues: err.issues };
    throw err;
  }
}

const receiveBodies: unknown[] = [
  {},
  { max: 10, waitMs: 0 },
  { max: 1 },
  { max: LIMITS.maxReceive, waitMs: LIMITS.maxWaitMs, visibilityTimeoutMs: 0 },
  { visibilityTimeoutMs: LIMITS.maxVisibilityTimeoutMs },
  { max: 0 },
  { max: LIMITS.maxReceive + 1 },
  { max: 1.5 },
  { max: '10' },
  { max: null },
  { waitMs: -1 },
  { waitMs: LIMITS.maxWaitMs + 1 },
  { visibilityTimeoutMs: -1 },
  { visibilityTimeoutMs: null },
  { max: 10, colour: 'red' },
  JSON.parse('{"__proto__": {"max": 3}}'),
  [],
  null,
  'max',
  7,
];

const handle = 'h'.repeat(22);
const ackBodies: unknown[] = [
  { receiptHandles: [handle] },
  { receiptHandles: Array.from({ length: LIMITS.maxReceiptHandles }, (_, i) => `${handle}${i}`) },
  { receiptHandles: ['x'.repeat(LIMITS.maxReceiptHandleLength)] },
  { receiptHandles: [] },
  { receiptHandles: Array.from({ length: LIMITS.maxReceiptHandles + 1 }, () => handle) },
  { receiptHandles: [''] },
  { receiptHandles: ['x'.repeat(LIMITS.maxReceiptHandleLength + 1)] },
  { receiptHandles: [handle, 7] },
  { receiptHandles: handle },
  { receiptHandles: [handle], extra: true },
  JSON.parse(`{"receiptHandles": ["${handle}"], "__proto__": {}}`),
  {},
  [],
  null,
];

// A receive that acknowledges the previous batch: its handles as an ack's, none allowed.
receiveBodies.push(
  { max: 10, ackReceiptHandles: [] },
  { max: 10, waitMs: 500, ackReceiptHandles: [handle, `${handle}2`] },
  { ackReceiptHandles: Array.from({ length: LIMITS.maxReceiptHandles }, (_, i) => `${handle}${i}`), visibilityTimeoutMs: 10 },
  { ackReceiptHandles: Array.from({ length: LIMITS.maxReceiptHandles + 1 }, () => handle) },
  { ackReceiptHandles: [''] },
  { ackReceiptHandles: ['x'.repeat(LIMITS.maxReceiptHandleLength + 1)] },
  { ackReceiptHandles: [handle, 7] },
  { ackReceiptHandles: handle },
  { ackReceiptHandles: null },
  { max: 0, ackReceiptHandles: [handle] },
);

describe('receive and ack bodies', () => {
  test.each(receiveBodies.map((b) => [JSON.stringify(b), b]))('receive %s: as ReceiveBody answers', (_, json) => {
    expect(outcome(parseReceiveBody, json)).toEqual(outcome((j) => ReceiveBody.parse(j), json));
  });

  test.each(ackBodies.map((b) => [JSON.stringify(b).slice(0, 80), b]))('ack %s: as AckBody answers', (_, json) => {
    expect(outcome(parseAckBody, json)).toEqual(outcome((j) => AckBody.parse(j), json));
  });

  test('the usual bodies are taken without the schema', () => {
    const receive = jest.spyOn(ReceiveBody, 'parse');
    const ack = jest.spyOn(AckBody, 'parse');
    try {
      expect(parseReceiveBody({ max: 10, waitMs: 0 })).toEqual({ max: 10, waitMs: 0 });
      expect(parseReceiveBody({ max: 10, waitMs: 0, visibilityTimeoutMs: 5000 })).toEqual({ max: 10, waitMs: 0, visibilityTimeoutMs: 5000 });
      expect(parseAckBody({ receiptHandles: [handle, handle] })).toEqual({ receiptHandles: [handle, handle] });
      expect(parseReceiveBody({ max: 10, ackReceiptHandles: [handle] })).toEqual({ max: 10, waitMs: 0, ackReceiptHandles: [handle] });
      expect(parseReceiveBody({ max: 10, ackReceiptHandles: [] })).toEqual({ max: 10, waitMs: 0, ackReceiptHandles: [] });
      expect(receive).not.toHaveBeenCalled();
      expect(ack).not.toHaveBeenCalled();
      // Anything else is the schema's to judge.
      expect(() => parseAckBody({ receiptHandles: [] })).toThrow(ZodError);
      expect(ack).toHaveBeenCalledTimes(1);
    } finally {
      receive.mockRestore();
      ack.mockRestore();
    }
  });
});
