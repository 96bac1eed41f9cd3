// Message bodies: the single/batch shapes and the 256 KiB per-message limit (413).
import { ApiError } from '../errors.js';
import { LIMITS, PublishBatch, PublishMessage, SendBatch, SendMessage } from '../schemas.js';

const isBatch = (json: unknown): boolean => typeof json === 'object' && json !== null && 'messages' in json;

/** `SendMessage` or `{messages: SendMessage[]}`, told apart by the `messages` field so a
 *  mistake is reported against the shape the client meant. */
export const parseSendBody = (json: unknown) => (isBatch(json) ? SendBatch.parse(json) : SendMessage.parse(json));
export const parsePublishBody = (json: unknown) => (isBatch(json) ? PublishBatch.parse(json) : PublishMessage.parse(json));

export function checkMessageSizes(body: { body: string } | { messages: Array<{ body: string }> }): void {
  const messages = 'messages' in body ? body.messages : [body];
  messages.forEach((message, index) => {
    // Cheap bound first: a UTF-16 string never has more UTF-8 bytes than 3 per unit.
    if (message.body.length * 3 <= LIMITS.maxMessageBodyBytes) return;
    const bytes = Buffer.byteLength(message.body, 'utf8');
    if (bytes > LIMITS.maxMessageBodyBytes) {
      throw new ApiError(
        'payload_too_large',
        `message body is ${bytes} bytes; the limit is ${LIMITS.maxMessageBodyBytes} bytes of UTF-8`,
        { path: 'messages' in body ? `messages.${index}.body` : 'body', limitBytes: LIMITS.maxMessageBodyBytes, bytes },
      );
    }
  });
}
