// The HTTP request shapes of docs/API.md, in zod. Routes validate with these and
// GET /openapi.json is generated from them: there is no second copy.
// Objects are strict: an unknown field is a 400, never silently ignored.
import { z } from 'zod';
import {
  DEFAULT_QUEUE_RETENTION_MS,
  DEFAULT_TOPIC_RETENTION_MS,
  DEFAULT_VISIBILITY_TIMEOUT_MS,
  MAX_ATTRIBUTES,
  MAX_BATCH,
  MAX_DELAY_MS,
  MAX_MESSAGE_BYTES,
  MAX_RECEIPT_HANDLE_LENGTH,
  MAX_RECEIVE,
  MAX_RECEIVES_LIMIT,
  MAX_RETENTION_MS,
  MAX_VISIBILITY_TIMEOUT_MS,
  MIN_RETENTION_MS,
  NAME_PATTERN,
  publishMessageSchema,
  receiptHandleSchema,
  sendMessageSchema,
} from '../broker/commands.js';
import { MAX_REQUEST_BYTES } from './body.js';

export { NAME_PATTERN };

/** docs/API.md, Limits: the broker's (which it enforces on apply too) and the API's own. */
export const LIMITS = {
  maxRequestBytes: MAX_REQUEST_BYTES,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxBatch: MAX_BATCH,
  maxWaitMs: 20_000,
  maxReceive: MAX_RECEIVE,
  maxDelayMs: MAX_DELAY_MS,
  maxVisibilityTimeoutMs: MAX_VISIBILITY_TIMEOUT_MS,
  maxReceiptHandles: MAX_BATCH,
  maxReceiptHandleLength: MAX_RECEIPT_HANDLE_LENGTH,
  maxAttributes: MAX_ATTRIBUTES,
  minRetentionMs: MIN_RETENTION_MS,
  maxRetentionMs: MAX_RETENTION_MS,
  maxReceivesOrDeliveries: MAX_RECEIVES_LIMIT,
} as const;

export const Name = z
  .string()
  .regex(NAME_PATTERN, `must match ${NAME_PATTERN.source}`)
  .meta({ description: 'Name of a user, queue, topic or subscription', example: 'orders' });

const int = (min: number, max: number) => z.number().int().min(min).max(max);

// ---- users -------------------------------------------------------------------------

export const RegisterBody = z
  .strictObject({
    username: Name,
    password: z.string().min(8).max(128),
  })
  .meta({ title: 'RegisterRequest' });

/** What a follower in forward mode relays for a registration: the hash made where the
 *  request arrived, never the password (docs/SECURITY.md). Accepted only on a forward. */
export const RelayedRegisterBody = z.strictObject({
  username: Name,
  passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/).max(1024),
});

// Login checks only the shapes: any wrong name or password is 401, not 400.
export const LoginBody = z
  .strictObject({
    username: z.string().max(1024),
    password: z.string().max(1024),
  })
  .meta({ title: 'LoginRequest' });

// ---- queues ------------------------------------------------------------------------

export const CreateQueueBody = z
  .strictObject({
    name: Name,
    visibilityTimeoutMs: int(0, LIMITS.maxVisibilityTimeoutMs).default(DEFAULT_VISIBILITY_TIMEOUT_MS),
    maxReceives: int(1, LIMITS.maxReceivesOrDeliveries).nullable().optional(),
    deadLetterQueue: Name.nullable().optional(),
    retentionMs: int(LIMITS.minRetentionMs, LIMITS.maxRetentionMs).default(DEFAULT_QUEUE_RETENTION_MS),
  })
  .meta({ title: 'CreateQueueRequest' });

// The broker's message schemas, strict: an unknown field is a 400, not dropped.
const messageMeta = { description: 'UTF-8 text; with the attribute names and values at most 256 KiB' };

export const SendMessage = z
  .strictObject({ ...sendMessageSchema.shape, body: sendMessageSchema.shape.body.meta(messageMeta) })
  .meta({ title: 'SendMessage' });

export const SendBatch = z
  .strictObject({ messages: z.array(SendMessage).min(1).max(LIMITS.maxBatch) })
  .meta({ title: 'SendMessageBatch' });

/** A topic message has no delay. */
export const PublishMessage = z
  .strictObject({ ...publishMessageSchema.shape, body: publishMessageSchema.shape.body.meta(messageMeta) })
  .meta({ title: 'PublishMessage' });
export const PublishBatch = z
  .strictObject({ messages: z.array(PublishMessage).min(1).max(LIMITS.maxBatch) })
  .meta({ title: 'PublishMessageBatch' });

export const SendBody = z.union([SendMessage, SendBatch]);
export const PublishBody = z.union([PublishMessage, PublishBatch]);

const ReceiptHandle = receiptHandleSchema;

export const ReceiveBody = z
  .strictObject({
    max: int(1, LIMITS.maxReceive).default(1),
    waitMs: int(0, LIMITS.maxWaitMs).default(0),
    visibilityTimeoutMs: int(0, LIMITS.maxVisibilityTimeoutMs).optional(),
    ackReceiptHandles: z.array(ReceiptHandle).max(LIMITS.maxReceiptHandles).optional().meta({
      description:
        'Acknowledged as POST .../ack would, before this receive (docs/API.md, Receive and acknowledge in one request); ' +
        'the answer then carries acked and unknown too',
    }),
  })
  .meta({ title: 'ReceiveRequest' });

export const AckBody = z
  .strictObject({ receiptHandles: z.array(ReceiptHandle).min(1).max(LIMITS.maxReceiptHandles) })
  .meta({ title: 'AckRequest' });

export const NackBody = z
  .strictObject({
    receiptHandles: z.array(ReceiptHandle).min(1).max(LIMITS.maxReceiptHandles),
    delayMs: int(0, LIMITS.maxDelayMs).default(0),
  })
  .meta({ title: 'NackRequest' });

export const VisibilityBody = z
  .strictObject({
    receiptHandle: ReceiptHandle,
    visibilityTimeoutMs: int(0, LIMITS.maxVisibilityTimeoutMs),
  })
  .meta({ title: 'ChangeVisibilityRequest' });

export const QueueGrantBody = z
  .strictObject({ permissions: z.array(z.enum(['send', 'receive'])).max(2) })
  .meta({ title: 'QueueGrantRequest' });

// ---- topics ------------------------------------------------------------------------

export const CreateTopicBody = z
  .strictObject({
    name: Name,
    public: z.boolean().default(false),
    retentionMs: int(LIMITS.minRetentionMs, LIMITS.maxRetentionMs).default(DEFAULT_TOPIC_RETENTION_MS),
  })
  .meta({ title: 'CreateTopicRequest' });

export const TopicGrantBody = z
  .strictObject({ permissions: z.array(z.enum(['publish', 'subscribe'])).max(2) })
  .meta({ title: 'TopicGrantRequest' });

export const CreateSubscriptionBody = z
  .strictObject({
    name: Name,
    ackTimeoutMs: int(0, LIMITS.maxVisibilityTimeoutMs).default(DEFAULT_VISIBILITY_TIMEOUT_MS),
    maxDeliveries: int(1, LIMITS.maxReceivesOrDeliveries).nullable().optional(),
    deadLetterQueue: Name.nullable().optional(),
  })
  .meta({ title: 'CreateSubscriptionRequest' });

/** Routes without a body accept none, or an empty object. */
export const EmptyBody = z.strictObject({});

// ---- params and query --------------------------------------------------------------

export const NameParams = z.strictObject({ name: Name });
export const GrantParams = z.strictObject({ name: Name, username: Name });
export const SubscriptionParams = z.strictObject({ name: Name, sub: Name });

// Query strings are loose: docs/API.md (Leader handling) has writes keep their query across a redirect, so
// parameters we do not know (cache busters, tracing) are ignored; known ones are checked.
export const ReadQuery = z.looseObject({
  consistency: z
    .enum(['linearizable', 'stale'])
    .default('linearizable')
    .meta({ description: '`stale` serves the local applied state, with header x-mom-applied-index' }),
});
export const WriteQuery = z.looseObject({});
