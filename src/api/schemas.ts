// The HTTP request shapes of docs/API.md, in zod. Routes validate with these and
// GET /openapi.json is generated from them: there is no second copy.
// Objects are strict: an unknown field is a 400, never silently ignored.
import { z } from 'zod';
import {
  DEFAULT_QUEUE_RETENTION_MS,
  DEFAULT_TOPIC_RETENTION_MS,
  DEFAULT_VISIBILITY_TIMEOUT_MS,
  MAX_BATCH,
  MAX_BODY_BYTES,
  MAX_DELAY_MS,
  MAX_RECEIVE,
  MAX_RECEIVES_LIMIT,
  MAX_RETENTION_MS,
  MAX_VISIBILITY_TIMEOUT_MS,
  MIN_RETENTION_MS,
  NAME_PATTERN,
} from '../broker/commands.js';

export { NAME_PATTERN };

/** docs/API.md, Limits; those the broker also enforces come from its command schemas. */
export const LIMITS = {
  maxRequestBytes: 1024 * 1024,
  maxMessageBodyBytes: MAX_BODY_BYTES,
  maxBatch: MAX_BATCH,
  maxWaitMs: 20_000,
  maxReceive: MAX_RECEIVE,
  maxDelayMs: MAX_DELAY_MS,
  maxVisibilityTimeoutMs: MAX_VISIBILITY_TIMEOUT_MS,
  maxReceiptHandles: MAX_BATCH,
  maxReceiptHandleLength: 256,
  maxAttributes: 100,
  minRetentionMs: MIN_RETENTION_MS,
  maxRetentionMs: MAX_RETENTION_MS,
  maxReceivesOrDeliveries: MAX_RECEIVES_LIMIT,
} as const;

const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const unicodeText = () => z.string().refine(wellFormed, 'must be valid Unicode text (no lone surrogates)');

export const Name = z
  .string()
  .regex(NAME_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$')
  .meta({ description: 'Name of a user, queue, topic or subscription', example: 'orders' });

const int = (min: number, max: number) => z.number().int().min(min).max(max);

// ---- users -------------------------------------------------------------------------

export const RegisterBody = z
  .strictObject({
    username: Name,
    password: z.string().min(8).max(128),
  })
  .meta({ title: 'RegisterRequest' });

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

// zod drops a `__proto__` key silently; refuse it instead of losing an attribute.
const Attributes = z.preprocess(
  (value, ctx) => {
    if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, '__proto__')) {
      ctx.issues.push({ code: 'custom', message: 'reserved attribute name', input: value, path: ['__proto__'] });
    }
    return value;
  },
  z
    .record(unicodeText().min(1).max(256), unicodeText())
    .refine((a) => Object.keys(a).length <= LIMITS.maxAttributes, `at most ${LIMITS.maxAttributes} attributes`),
);

const DeduplicationId = unicodeText().min(1).max(128);

export const SendMessage = z
  .strictObject({
    body: unicodeText().meta({ description: 'UTF-8 text, at most 256 KiB' }),
    attributes: Attributes.optional(),
    delayMs: int(0, LIMITS.maxDelayMs).optional(),
    deduplicationId: DeduplicationId.optional(),
  })
  .meta({ title: 'SendMessage' });

export const SendBatch = z
  .strictObject({ messages: z.array(SendMessage).min(1).max(LIMITS.maxBatch) })
  .meta({ title: 'SendMessageBatch' });

/** A topic message has no delay. */
export const PublishMessage = SendMessage.omit({ delayMs: true }).meta({ title: 'PublishMessage' });
export const PublishBatch = z
  .strictObject({ messages: z.array(PublishMessage).min(1).max(LIMITS.maxBatch) })
  .meta({ title: 'PublishMessageBatch' });

export const SendBody = z.union([SendMessage, SendBatch]);
export const PublishBody = z.union([PublishMessage, PublishBatch]);

export const ReceiveBody = z
  .strictObject({
    max: int(1, LIMITS.maxReceive).default(1),
    waitMs: int(0, LIMITS.maxWaitMs).default(0),
    visibilityTimeoutMs: int(0, LIMITS.maxVisibilityTimeoutMs).optional(),
  })
  .meta({ title: 'ReceiveRequest' });

const ReceiptHandle = z.string().min(1).max(LIMITS.maxReceiptHandleLength);

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

export type SendMessageInput = z.output<typeof SendMessage>;
