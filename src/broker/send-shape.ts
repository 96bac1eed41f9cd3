// The shape almost every send and publish has — messages that are only a body — checked
// by hand. A batch of 100 went through zod twice (the API's request schema, then the
// command schema before encoding), which allocates a result object per message and per
// field; for this one shape a loop gives the same verdict at a fraction of the cost.
// Anything else (attributes, delays, deduplication ids, and every invalid input) is
// left to the schemas, so their answers and error messages stay exactly as they were.
import { IDEMPOTENCY_KEY_PATTERN, MAX_BATCH, NAME_PATTERN, PRODUCER_ID_PATTERN, isWellFormed } from './limits.js';

/** An object JSON.parse made for `{...}` (not an array, not null). */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** No keys but those in `allowed` (own enumerable keys, `__proto__` included when JSON.parse made one). */
export function hasOnlyKeys(o: object, allowed: readonly string[]): boolean {
  for (const key in o) if (!allowed.includes(key)) return false;
  return true;
}

const BODY_ONLY_KEYS = ['body'];
const BATCH_KEYS = ['messages'];
const PRODUCER_KEYS = ['id', 'frames'];
const FRAME_KEYS = ['seq', 'count'];

export interface BodyOnlyMessage {
  body: string;
}

/** A plain object whose one field is `body`, a well-formed string: what both the
 *  request schemas and the command schemas accept for a message, unchanged. */
export function isBodyOnlyMessage(m: unknown): m is BodyOnlyMessage {
  if (!isPlainObject(m)) return false;
  const body = m.body;
  return typeof body === 'string' && isWellFormed(body) && hasOnlyKeys(m, BODY_ONLY_KEYS);
}

/** 1..MAX_BATCH body-only messages. */
export function areBodyOnlyMessages(messages: unknown): messages is BodyOnlyMessage[] {
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_BATCH) return false;
  for (let i = 0; i < messages.length; i++) if (!isBodyOnlyMessage(messages[i])) return false;
  return true;
}

/** A request body `{body}` or `{messages: [{body}, ...]}` exactly, else undefined (the
 *  caller then validates with its schema). The body is returned as it came: the
 *  schemas would return an equal copy. */
export function bodyOnlySendBody(json: unknown): BodyOnlyMessage | { messages: BodyOnlyMessage[] } | undefined {
  if (!isPlainObject(json)) return undefined;
  if (!Object.prototype.hasOwnProperty.call(json, 'messages')) return isBodyOnlyMessage(json) ? json : undefined;
  if (!hasOnlyKeys(json, BATCH_KEYS)) return undefined;
  const messages = json.messages;
  return areBodyOnlyMessages(messages) ? { messages } : undefined;
}

/** The fields of a send or publish command as the API builds it. */
interface SendFields {
  type: string;
  user?: unknown;
  queue?: unknown;
  topic?: unknown;
  idempotencyKey?: unknown;
  messages?: unknown;
  batch?: unknown;
  producer?: unknown;
}

const isName = (v: unknown): boolean => typeof v === 'string' && NAME_PATTERN.test(v);

/**
 * A producer as its command schema accepts it (commands.ts, producerSchema) for a
 * command of `messages` messages: an id of the producer pattern, 1..MAX_BATCH frames of
 * distinct sequences (safe integers ≥ 0) and counts (1..MAX_BATCH) that add up to the
 * messages. The stream client sends one with every frame, so this is the usual send too.
 */
function isValidProducer(p: unknown, messages: number): boolean {
  if (!isPlainObject(p) || !hasOnlyKeys(p, PRODUCER_KEYS)) return false;
  if (typeof p.id !== 'string' || !PRODUCER_ID_PATTERN.test(p.id)) return false;
  const frames = p.frames;
  if (!Array.isArray(frames) || frames.length < 1 || frames.length > MAX_BATCH) return false;
  let total = 0;
  for (const f of frames as unknown[]) {
    if (!isPlainObject(f) || !hasOnlyKeys(f, FRAME_KEYS)) return false;
    const { seq, count } = f;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return false;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_BATCH) return false;
    total += count;
  }
  if (frames.length > 1 && new Set((frames as Array<{ seq: number }>).map((f) => f.seq)).size !== frames.length) return false;
  return total === messages;
}

/**
 * True when `c` is a queue.send or topic.publish of body-only messages that its command
 * schema accepts: its head is valid for its messages (isValidSendHead). False says
 * nothing: check with the schema.
 */
export function isValidBodyOnlySend(c: SendFields): boolean {
  return areBodyOnlyMessages(c.messages) && isValidSendHead(c, c.messages.length);
}

/**
 * True when the fields of a queue.send or topic.publish other than its messages are
 * what its command schema accepts for `count` messages: user and target are names, the
 * idempotency key (if any) has the header's pattern, `batch` is a boolean, and its
 * producer (if any) is valid for that many messages.
 */
export function isValidSendHead(c: SendFields, count: number): boolean {
  if (c.type !== 'queue.send' && c.type !== 'topic.publish') return false;
  const target = c.type === 'queue.send' ? c.queue : c.topic;
  if (!isName(c.user) || !isName(target) || typeof c.batch !== 'boolean') return false;
  if (c.idempotencyKey !== undefined && !(typeof c.idempotencyKey === 'string' && IDEMPOTENCY_KEY_PATTERN.test(c.idempotencyKey))) return false;
  return c.producer === undefined || isValidProducer(c.producer, count);
}
