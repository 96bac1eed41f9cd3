import { z } from 'zod';
import { BrokerError } from './errors.js';
import { limitsSchema } from './quotas.js';
import { VALIDATED_LEASE_TAG, decodeLeaseBinary, encodeLeaseBinary } from './lease-codec.js';
import { RECEIPT_KEY_PATTERN } from './receipts.js';
import {
  IDEMPOTENCY_KEY_PATTERN, MAX_ATTRIBUTES, MAX_ATTRIBUTE_NAME_LENGTH, MAX_BATCH, MAX_DEDUPLICATION_ID_LENGTH,
  MAX_DELAY_MS, MAX_RECEIPT_HANDLE_LENGTH, MAX_RECEIVE, MAX_RECEIVES_LIMIT, MAX_RETENTION_MS,
  MAX_VISIBILITY_TIMEOUT_MS, MIN_RETENTION_MS, NAME_PATTERN, PRODUCER_ID_PATTERN, isWellFormed,
} from './limits.js';
import { UNVALIDATED_SEND_TAG, VALIDATED_SEND_TAG, decodeSendBinary, encodeBodySpansBinary, encodeSendBinary, type SendHead } from './send-codec.js';
import { isValidBodyOnlySend, isValidSendHead } from './send-shape.js';

export * from './limits.js';

const name = z.string().regex(NAME_PATTERN);
/** Stored text must survive UTF-8 (snapshots): no lone surrogates. */
export const textSchema = z.string().refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)');
const text = textSchema;
const idempotencyKey = z.string().regex(IDEMPOTENCY_KEY_PATTERN);
export const receiptHandleSchema = z.string().min(1).max(MAX_RECEIPT_HANDLE_LENGTH);
const receiptHandle = receiptHandleSchema;
export const deduplicationIdSchema = text.min(1).max(MAX_DEDUPLICATION_ID_LENGTH);

/** At most MAX_ATTRIBUTES named strings. A `__proto__` key is refused rather than
 *  silently dropped (zod leaves it out of the parsed record). */
export const attributesSchema = z.preprocess(
  (value, ctx) => {
    if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, '__proto__')) {
      ctx.issues.push({ code: 'custom', message: 'reserved attribute name', input: value, path: ['__proto__'] });
    }
    return value;
  },
  z
    .record(text.min(1).max(MAX_ATTRIBUTE_NAME_LENGTH), text)
    .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`),
);
const visibilityTimeoutMs = z.number().int().min(0).max(MAX_VISIBILITY_TIMEOUT_MS);
const retentionMs = z.number().int().min(MIN_RETENTION_MS).max(MAX_RETENTION_MS);
const maxReceives = z.number().int().min(1).max(MAX_RECEIVES_LIMIT);
/** Proposed with receives while the cluster has no receipt key; the first one applied
 *  becomes the key (receipts.ts). Never set by clients: the API adds it. */
const receiptKey = z.string().regex(RECEIPT_KEY_PATTERN);

/** Every command but `user.register` and `tick` is done by an authenticated user. */
const acting = { user: name, idempotencyKey: idempotencyKey.optional() };

export const sendMessageSchema = z.object({
  /** With the attributes, at most MAX_MESSAGE_BYTES: checked on apply as payload_too_large. */
  body: text,
  attributes: attributesSchema.optional(),
  delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
  deduplicationId: deduplicationIdSchema.optional(),
});
export type SendMessage = z.infer<typeof sendMessageSchema>;

/** Topics have no per-message delay. */
export const publishMessageSchema = z.strictObject({
  body: text,
  attributes: attributesSchema.optional(),
  deduplicationId: deduplicationIdSchema.optional(),
});
export type PublishMessage = z.infer<typeof publishMessageSchema>;

/**
 * A send's or publish's producer (README, Producers): the client's producer id and, per
 * frame the command carries (several when the stream merged frames into one batch),
 * its sequence and how many of the command's messages, in order, are that frame's.
 */
export const producerSchema = z.strictObject({
  id: z.string().regex(PRODUCER_ID_PATTERN),
  frames: z
    .array(z.strictObject({
      seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      count: z.number().int().min(1).max(MAX_BATCH),
    }))
    .min(1)
    .max(MAX_BATCH)
    .refine((frames) => new Set(frames.map((f) => f.seq)).size === frames.length, 'sequences must differ'),
});
export type ProducerFrames = z.infer<typeof producerSchema>;

/** The frames of a producer cover the command's messages exactly. */
const framesCoverMessages = (c: { messages: unknown[]; producer?: ProducerFrames }): boolean =>
  c.producer === undefined || c.producer.frames.reduce((n, f) => n + f.count, 0) === c.messages.length;
const FRAMES_COVER = { message: "the producer's frame counts must add up to the messages", path: ['producer'] };

const permissionsQueue = z.array(z.enum(['send', 'receive'])).max(2);
const permissionsTopic = z.array(z.enum(['publish', 'subscribe'])).max(2);

export const userRegisterSchema = z.object({
  type: z.literal('user.register'),
  username: name,
  passwordHash: text.min(1).max(1024),
  // No idempotencyKey: records are kept per acting user, and a registration has none
  // yet. An older log entry that carries one decodes with the key stripped.
});

export const queueCreateSchema = z.object({
  type: z.literal('queue.create'),
  ...acting,
  name,
  visibilityTimeoutMs: visibilityTimeoutMs.optional(),
  maxReceives: maxReceives.optional(),
  deadLetterQueue: name.optional(),
  retentionMs: retentionMs.optional(),
});
export const queueDeleteSchema = z.object({ type: z.literal('queue.delete'), ...acting, queue: name });
export const queuePurgeSchema = z.object({ type: z.literal('queue.purge'), ...acting, queue: name });
export const queueGrantSchema = z.object({
  type: z.literal('queue.grant'), ...acting, queue: name, username: name, permissions: permissionsQueue,
});
export const queueRevokeSchema = z.object({ type: z.literal('queue.revoke'), ...acting, queue: name, username: name });
/** `batch` says which answer shape docs/API.md wants: `{messages: [...]}` (true) or `{id, deduplicated}`. */
export const queueSendSchema = z.object({
  type: z.literal('queue.send'), ...acting, queue: name,
  messages: z.array(sendMessageSchema).min(1).max(MAX_BATCH),
  batch: z.boolean(),
  producer: producerSchema.optional(),
}).refine(framesCoverMessages, FRAMES_COVER);
export const queueReceiveSchema = z.object({
  type: z.literal('queue.receive'), ...acting, queue: name,
  max: z.number().int().min(1).max(MAX_RECEIVE).optional(),
  visibilityTimeoutMs: visibilityTimeoutMs.optional(),
  receiptKey: receiptKey.optional(),
});
export const queueAckSchema = z.object({
  type: z.literal('queue.ack'), ...acting, queue: name,
  receiptHandles: z.array(receiptHandle).min(1).max(MAX_BATCH),
});
export const queueNackSchema = z.object({
  type: z.literal('queue.nack'), ...acting, queue: name,
  receiptHandles: z.array(receiptHandle).min(1).max(MAX_BATCH),
  delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
});
export const queueVisibilitySchema = z.object({
  type: z.literal('queue.visibility'), ...acting, queue: name,
  receiptHandle, visibilityTimeoutMs,
});

export const topicCreateSchema = z.object({
  type: z.literal('topic.create'), ...acting, name,
  public: z.boolean().optional(),
  retentionMs: retentionMs.optional(),
});
export const topicDeleteSchema = z.object({ type: z.literal('topic.delete'), ...acting, topic: name });
export const topicGrantSchema = z.object({
  type: z.literal('topic.grant'), ...acting, topic: name, username: name, permissions: permissionsTopic,
});
export const topicRevokeSchema = z.object({ type: z.literal('topic.revoke'), ...acting, topic: name, username: name });
export const topicPublishSchema = z.object({
  type: z.literal('topic.publish'), ...acting, topic: name,
  messages: z.array(publishMessageSchema).min(1).max(MAX_BATCH),
  batch: z.boolean(),
  producer: producerSchema.optional(),
}).refine(framesCoverMessages, FRAMES_COVER);

export const subscriptionCreateSchema = z.object({
  type: z.literal('subscription.create'), ...acting, topic: name, name,
  ackTimeoutMs: visibilityTimeoutMs.optional(),
  maxDeliveries: maxReceives.optional(),
  deadLetterQueue: name.optional(),
});
const subRef = { ...acting, topic: name, subscription: name };
export const subscriptionDeleteSchema = z.object({ type: z.literal('subscription.delete'), ...subRef });
export const subscriptionReceiveSchema = z.object({
  type: z.literal('subscription.receive'), ...subRef,
  max: z.number().int().min(1).max(MAX_RECEIVE).optional(),
  visibilityTimeoutMs: visibilityTimeoutMs.optional(),
  receiptKey: receiptKey.optional(),
});
export const subscriptionAckSchema = z.object({
  type: z.literal('subscription.ack'), ...subRef,
  receiptHandles: z.array(receiptHandle).min(1).max(MAX_BATCH),
});
export const subscriptionNackSchema = z.object({
  type: z.literal('subscription.nack'), ...subRef,
  receiptHandles: z.array(receiptHandle).min(1).max(MAX_BATCH),
  delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
});
export const subscriptionVisibilitySchema = z.object({
  type: z.literal('subscription.visibility'), ...subRef,
  receiptHandle, visibilityTimeoutMs,
});

/** Proposed by the leader when idle so that expiries happen without traffic. */
export const tickSchema = z.object({ type: z.literal('tick') });

/** Proposed by a node when it becomes leader: its configured limits (quotas.ts) are the
 *  ones every replica enforces from this entry on. */
export const clusterLimitsSchema = z.object({ type: z.literal('cluster.limits'), limits: limitsSchema });

export const commandSchema = z.discriminatedUnion('type', [
  userRegisterSchema,
  queueCreateSchema, queueDeleteSchema, queuePurgeSchema, queueGrantSchema, queueRevokeSchema,
  queueSendSchema, queueReceiveSchema, queueAckSchema, queueNackSchema, queueVisibilitySchema,
  topicCreateSchema, topicDeleteSchema, topicGrantSchema, topicRevokeSchema, topicPublishSchema,
  subscriptionCreateSchema, subscriptionDeleteSchema, subscriptionReceiveSchema,
  subscriptionAckSchema, subscriptionNackSchema, subscriptionVisibilitySchema,
  tickSchema, clusterLimitsSchema,
]);

export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command['type'];
/** The command of one type, e.g. `CommandOf<'queue.send'>`. */
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A JSON command the proposing node validated: the byte, then the JSON. */
const VALIDATED_JSON_TAG = 0x03;

/**
 * Validated once, encoded once, by the proposing node, into the log entry's payload:
 * sends and publishes in a compact binary form (send-codec.ts), receives, acks and
 * nacks in another (lease-codec.ts, which checks their few fields without the schema),
 * everything else as JSON, all behind a first byte that says "validated". Every replica then decodes
 * such an entry without the schema (decodeCommand). A command that fails validation is
 * written as plain JSON, so that apply refuses it as validation_failed on every
 * replica, as before.
 *
 * With `headroom`, the command starts that many bytes into the result and the bytes
 * before it are the caller's (the node writes its envelope there: a batch of 100
 * kilobyte messages is then not copied once more into a second buffer).
 */
export function encodeCommand(command: Command, headroom = 0): Uint8Array {
  // The usual send (messages that are only a body) is checked by hand: the same verdict
  // as its schema, without zod's per-message allocations (send-shape.ts).
  if (isValidBodyOnlySend(command)) return encodeSendBinary(command, headroom)!;
  const lease = encodeLeaseBinary(command, headroom);
  if (lease !== undefined) return lease;
  const parsed = commandSchema.safeParse(command);
  if (!parsed.success) return withHeadroom(encoder.encode(JSON.stringify(command)), headroom);
  const valid = parsed.data;
  const binary = encodeSendBinary(valid, headroom);
  if (binary !== undefined) return binary;
  const json = encoder.encode(JSON.stringify(valid));
  const out = new Uint8Array(headroom + 1 + json.length);
  out[headroom] = VALIDATED_JSON_TAG;
  out.set(json, headroom + 1);
  return out;
}

/**
 * encodeCommand for a send or publish of body-only messages whose bodies are UTF-8
 * ranges of `source` (`spans`: start and end of each; the API's raw request body): the
 * same bytes, without the bodies ever becoming strings. The caller vouches that each
 * range is well-formed UTF-8. Undefined when the rest of the command is not what its
 * schema accepts: the caller then encodes the whole command, and the schema judges it.
 */
export function encodeBodySpansCommand(head: SendHead, source: Uint8Array, spans: ArrayLike<number>, headroom = 0): Uint8Array | undefined {
  const count = spans.length / 2;
  if (count < 1 || count > MAX_BATCH || !isValidSendHead(head, count)) return undefined;
  return encodeBodySpansBinary(head, source, spans, headroom);
}

function withHeadroom(bytes: Uint8Array, headroom: number): Uint8Array {
  if (headroom === 0) return bytes;
  const out = new Uint8Array(headroom + bytes.length);
  out.set(bytes, headroom);
  return out;
}

/**
 * A log entry's payload as a command; throws BrokerError(validation_failed). Entries
 * the proposer validated (the tags above) are trusted; plain JSON and the older
 * unvalidated binary form (logs written by earlier versions) go through the schema.
 */
export function decodeCommand(bytes: Uint8Array): Command {
  let raw: unknown;
  try {
    switch (bytes[0]) {
      case VALIDATED_SEND_TAG:
        return decodeSendBinary(bytes) as Command;
      case VALIDATED_LEASE_TAG:
        return decodeLeaseBinary(bytes);
      case VALIDATED_JSON_TAG:
        return JSON.parse(decoder.decode(bytes.subarray(1))) as Command;
      case UNVALIDATED_SEND_TAG:
        raw = decodeSendBinary(bytes);
        break;
      default:
        raw = JSON.parse(decoder.decode(bytes));
    }
  } catch (err) {
    if (err instanceof BrokerError) throw err;
    throw new BrokerError('validation_failed', 'command is not a valid encoding (binary send or UTF-8 JSON)');
  }
  return parseCommand(raw);
}

/** Validates an already-built command object (what the API builds before encoding). */
export function parseCommand(raw: unknown): Command {
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new BrokerError('validation_failed', 'command failed validation', details);
  }
  return parsed.data;
}
