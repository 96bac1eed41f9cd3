// The broker's rules on names, keys and sizes: defined here once, enforced by the
// command schemas on apply, and imported by the API to build its request schemas
// (docs/API.md, Limits).

/** Names of users, queues, topics and subscriptions (docs/API.md, Conventions). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;
/** An Idempotency-Key: 1..128 printable ASCII characters (docs/API.md, Idempotency). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,128}$/;

/** One message: its body plus every attribute name and value, in UTF-8 bytes, as SQS
 *  counts them (messageBytes below). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_ATTRIBUTES = 100;
/** Attribute names in characters; values are bounded by MAX_MESSAGE_BYTES. */
export const MAX_ATTRIBUTE_NAME_LENGTH = 256;
export const MAX_DEDUPLICATION_ID_LENGTH = 128;
/** A stream producer's id, chosen by its client (docs/STREAM.md, Producers): e.g. 128
 *  random bits in base64url. */
export const PRODUCER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** The sequences of one producer whose answers the broker keeps (README, Producers). It
 *  is also the most requests one stream connection may have unconfirmed (the server
 *  stops reading there, and the client never has more frames out), so every frame a
 *  client may still resend lies within its producer's window. */
export const PRODUCER_WINDOW = 1024;
export const MAX_RECEIPT_HANDLE_LENGTH = 256;
export const MAX_BATCH = 100;
export const MAX_RECEIVE = 100;
export const MAX_DELAY_MS = 900_000;
/** SQS's ceiling for a visibility timeout: 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_MS = 43_200_000;
/** Retention between one second and fourteen days (SQS allows 60 s .. 14 d). */
export const MIN_RETENTION_MS = 1_000;
export const MAX_RETENTION_MS = 1_209_600_000;
export const MAX_RECEIVES_LIMIT = 1_000;

export const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
export const DEFAULT_QUEUE_RETENTION_MS = 345_600_000;
export const DEFAULT_TOPIC_RETENTION_MS = 604_800_000;

/** Stored text must survive UTF-8 (snapshots, the log): no lone surrogates. */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** UTF-8 length of a string, without encoding it. Buffer.byteLength is native: ~25-45 ns
 *  for 1 KiB against ~1.2-1.6 µs for a charCodeAt loop, and every stored message is
 *  counted (quotas). A lone surrogate counts 3 bytes, as its U+FFFD replacement. */
function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** What one message counts toward MAX_MESSAGE_BYTES: its body plus every attribute name
 *  and value, in UTF-8 bytes (as SQS counts them). */
export function messageBytes(m: { body: string; attributes?: Readonly<Record<string, string>> }): number {
  let n = utf8Length(m.body);
  if (m.attributes) for (const k in m.attributes) n += utf8Length(k) + utf8Length(m.attributes[k]);
  return n;
}

export function messageTooLarge(m: { body: string; attributes?: Readonly<Record<string, string>> }, maxBytes = MAX_MESSAGE_BYTES): boolean {
  // Every UTF-16 unit encodes to at most 3 bytes: most messages need no count at all.
  let units = m.body.length;
  if (m.attributes) for (const k in m.attributes) units += k.length + m.attributes[k].length;
  if (units * 3 <= maxBytes) return false;
  if (units > maxBytes) return true;
  return messageBytes(m) > maxBytes;
}
