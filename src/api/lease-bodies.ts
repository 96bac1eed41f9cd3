// The bodies of a receive and an ack, checked by hand in the shape nearly every request
// has. zod's strictObject and array checks allocate a result object and an issue list
// per field (about 4 µs an ack of ten handles on the leader, one ack per received
// batch). The verdict is the schemas' own: a body this check does not take whole goes
// through the schema, which accepts it or answers its usual error.
import type { z } from 'zod';
import { hasOnlyKeys, isPlainObject } from '../broker/index.js';
import { AckBody, LIMITS, ReceiveBody } from './schemas.js';

/** The fields each schema takes, read from the schemas themselves. */
const RECEIVE_KEYS = Object.keys(ReceiveBody.shape);
const ACK_KEYS = Object.keys(AckBody.shape);

/** An integer JSON number in [min, max], as the schemas' int(min, max) takes it. */
const intIn = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** 0..maxReceiptHandles (at least `min`) strings of 1..maxReceiptHandleLength characters. */
function isHandleList(v: unknown, min: number): v is string[] {
  if (!Array.isArray(v) || v.length < min || v.length > LIMITS.maxReceiptHandles) return false;
  for (let i = 0; i < v.length; i++) {
    const h: unknown = v[i];
    if (typeof h !== 'string' || h.length < 1 || h.length > LIMITS.maxReceiptHandleLength) return false;
  }
  return true;
}

/** `{max?, waitMs?, visibilityTimeoutMs?, ackReceiptHandles?}` in range, defaults filled in as ReceiveBody does; else undefined. */
function plainReceiveBody(json: unknown): z.output<typeof ReceiveBody> | undefined {
  if (!isPlainObject(json) || !hasOnlyKeys(json, RECEIVE_KEYS)) return undefined;
  const { max = 1, waitMs = 0, visibilityTimeoutMs, ackReceiptHandles } = json;
  if (!intIn(max, 1, LIMITS.maxReceive) || !intIn(waitMs, 0, LIMITS.maxWaitMs)) return undefined;
  const body: z.output<typeof ReceiveBody> = { max, waitMs };
  if (visibilityTimeoutMs !== undefined) {
    if (!intIn(visibilityTimeoutMs, 0, LIMITS.maxVisibilityTimeoutMs)) return undefined;
    body.visibilityTimeoutMs = visibilityTimeoutMs;
  }
  if (ackReceiptHandles !== undefined) {
    if (!isHandleList(ackReceiptHandles, 0)) return undefined;
    body.ackReceiptHandles = ackReceiptHandles;
  }
  return body;
}

/** `{receiptHandles}`: 1..maxReceiptHandles strings of 1..maxReceiptHandleLength characters; else undefined. */
function plainAckBody(json: unknown): z.output<typeof AckBody> | undefined {
  if (!isPlainObject(json) || !hasOnlyKeys(json, ACK_KEYS)) return undefined;
  const handles = json.receiptHandles;
  return isHandleList(handles, 1) ? { receiptHandles: handles } : undefined;
}

export const parseReceiveBody = (json: unknown): z.output<typeof ReceiveBody> => plainReceiveBody(json) ?? ReceiveBody.parse(json);
export const parseAckBody = (json: unknown): z.output<typeof AckBody> => plainAckBody(json) ?? AckBody.parse(json);
