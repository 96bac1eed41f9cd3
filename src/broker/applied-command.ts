import { decodeCommand, type Command } from './commands.js';
import { messageBytes } from './limits.js';
import { decodeRelocate, isRelocateEntry, type RelocateMeta } from './relocate.js';
import { decodeSendMeta, VALIDATED_SEND_TAG, type MessageMeta, type PublishMeta, type SendMeta } from './send-codec.js';

export type { MessageMeta, PublishMeta, SendMeta } from './send-codec.js';

/** A command as apply runs it: sends and publishes carry their messages' sizes and
 *  options, not their bodies (those stay in the log entry). */
export type AppliedCommand = Exclude<Command, { type: 'queue.send' | 'topic.publish' }> | SendMeta | PublishMeta | RelocateMeta;

/**
 * A log entry's payload as apply runs it; throws BrokerError(validation_failed) as
 * decodeCommand does. Validated binary sends are scanned, not decoded; any other form
 * (JSON, the older unvalidated binary form) is decoded and judged as before, then its
 * messages are measured.
 */
export function decodeForApply(bytes: Uint8Array): AppliedCommand {
  if (isRelocateEntry(bytes)) return decodeRelocate(bytes);
  if (bytes[0] === VALIDATED_SEND_TAG) return decodeSendMeta(bytes);
  return toApplied(decodeCommand(bytes));
}

/** The apply form of a decoded command. */
export function toApplied(c: Command): AppliedCommand {
  if (c.type !== 'queue.send' && c.type !== 'topic.publish') return c;
  const messages = c.messages.map((m) => {
    const meta: MessageMeta = { bytes: messageBytes(m) };
    if ('delayMs' in m && m.delayMs !== undefined) meta.delayMs = m.delayMs;
    if (m.deduplicationId !== undefined) meta.deduplicationId = m.deduplicationId;
    return meta;
  });
  const out: SendMeta | PublishMeta = c.type === 'queue.send'
    ? { type: c.type, user: c.user, queue: c.queue, batch: c.batch, messages }
    : { type: c.type, user: c.user, topic: c.topic, batch: c.batch, messages };
  if (c.idempotencyKey !== undefined) out.idempotencyKey = c.idempotencyKey;
  if (c.producer !== undefined) out.producer = c.producer;
  return out;
}
