// Reading a client frame: the envelope (op, id, target, key) is checked here; what the
// REST route would read from its path and body is handed to that route's own schemas
// (operations.ts), so the stream accepts exactly what REST accepts.
import { ApiError, validationFailed } from '../errors.js';
import { STREAM_LIMITS, type RequestId, type StreamTarget } from './protocol.js';

/** A frame the server cannot even answer (no usable id): the connection closes. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export type ClientOp = 'auth' | 'send' | 'publish' | 'consume' | 'cancel' | 'ack' | 'nack' | 'extend';

/** The fields each op may carry; anything else is validation_failed, as REST's strict bodies. */
const FIELDS: Record<ClientOp, ReadonlySet<string>> = {
  auth: new Set(['op', 'id', 'token']),
  send: new Set(['op', 'id', 'queue', 'idempotencyKey', 'message', 'messages', 'producer', 'seq']),
  publish: new Set(['op', 'id', 'topic', 'idempotencyKey', 'message', 'messages', 'producer', 'seq']),
  consume: new Set(['op', 'id', 'queue', 'topic', 'subscription', 'prefetch', 'visibilityTimeoutMs']),
  cancel: new Set(['op', 'id', 'consumer']),
  ack: new Set(['op', 'id', 'queue', 'topic', 'subscription', 'receiptHandles', 'idempotencyKey']),
  nack: new Set(['op', 'id', 'queue', 'topic', 'subscription', 'receiptHandles', 'delayMs', 'idempotencyKey']),
  extend: new Set(['op', 'id', 'queue', 'topic', 'subscription', 'receiptHandle', 'visibilityTimeoutMs', 'idempotencyKey']),
};

export interface Frame {
  op: ClientOp;
  /** Absent only on `auth`. */
  id: RequestId | undefined;
  fields: Record<string, unknown>;
}

const isOp = (op: unknown): op is ClientOp => typeof op === 'string' && Object.prototype.hasOwnProperty.call(FIELDS, op);

function isRequestId(id: unknown): id is RequestId {
  if (typeof id === 'string') return id.length >= 1 && id.length <= STREAM_LIMITS.maxIdLength;
  return typeof id === 'number' && Number.isSafeInteger(id);
}

/** Parses a text frame into op, id and fields; FrameError when it cannot be answered. */
export function readFrame(text: string): Frame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FrameError('frame is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FrameError('frame is not a JSON object');
  const fields = json as Record<string, unknown>;
  if (!isOp(fields.op)) throw new FrameError(`unknown op ${JSON.stringify(fields.op)}`);
  const id = fields.id;
  if (id !== undefined && !isRequestId(id)) throw new FrameError(`id must be a string of 1..${STREAM_LIMITS.maxIdLength} characters or a safe integer`);
  if (id === undefined && fields.op !== 'auth') throw new FrameError(`op ${fields.op} needs an id`);
  return { op: fields.op, id, fields };
}

/** Unknown fields are refused, as REST's strict bodies refuse them. */
export function checkFields(frame: Frame): void {
  const allowed = FIELDS[frame.op];
  const unknown = Object.keys(frame.fields).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw validationFailed(unknown.map((path) => ({ in: 'body', path, message: `not a field of ${frame.op}` })));
  }
}

/** The frame's queue, or topic and subscription (one or the other). */
export function targetOf(fields: Record<string, unknown>): StreamTarget {
  const { queue, topic, subscription } = fields;
  if (queue !== undefined && topic === undefined && subscription === undefined) return { queue: requiredString(fields, 'queue') };
  if (queue === undefined && topic !== undefined && subscription !== undefined) {
    return { topic: requiredString(fields, 'topic'), subscription: requiredString(fields, 'subscription') };
  }
  throw validationFailed([{ in: 'body', path: 'queue', message: 'give either queue, or topic and subscription' }]);
}

/** The broker's name of a target, as the long-poll waiters know it. */
export function waitTargetOf(target: StreamTarget): string {
  return 'queue' in target ? `queue:${target.queue}` : `sub:${target.topic}/${target.subscription}`;
}

/** An optional string field, or validation_failed. */
export function optionalString(fields: Record<string, unknown>, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw validationFailed([{ in: 'body', path: name, message: 'must be a string' }]);
  return value;
}

export function requiredString(fields: Record<string, unknown>, name: string): string {
  const value = optionalString(fields, name);
  if (value === undefined) throw validationFailed([{ in: 'body', path: name, message: 'required' }]);
  return value;
}

/** A request the stream refuses by itself (not a route's answer). */
export function badRequest(path: string, message: string): ApiError {
  return validationFailed([{ in: 'body', path, message }]);
}
