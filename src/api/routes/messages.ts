// Message bodies: the single/batch shapes and the per-message size limit (413), counted
// as the broker counts it (body plus attribute names and values), before proposing.
import { MAX_MESSAGE_BYTES, bodyOnlySendBody, messageBytes, messageTooLarge } from '../../broker/index.js';
import { ApiError } from '../errors.js';
import { PublishBatch, PublishMessage, SendBatch, SendMessage } from '../schemas.js';

type MessageLike = { body: string; attributes?: Readonly<Record<string, string>> };

const isBatch = (json: unknown): boolean => typeof json === 'object' && json !== null && 'messages' in json;

/** `SendMessage` or `{messages: SendMessage[]}`, told apart by the `messages` field so a
 *  mistake is reported against the shape the client meant. Messages that are only a
 *  body (the usual case) are checked without zod (broker/send-shape.ts); any other
 *  body, valid or not, goes through the schema. */
export const parseSendBody = (json: unknown) => bodyOnlySendBody(json) ?? (isBatch(json) ? SendBatch.parse(json) : SendMessage.parse(json));
export const parsePublishBody = (json: unknown) => bodyOnlySendBody(json) ?? (isBatch(json) ? PublishBatch.parse(json) : PublishMessage.parse(json));

export function checkMessageSizes(body: MessageLike | { messages: MessageLike[] }): void {
  const messages = 'messages' in body ? body.messages : [body];
  messages.forEach((message, index) => {
    if (!messageTooLarge(message)) return;
    const bytes = messageBytes(message);
    throw new ApiError(
      'payload_too_large',
      `message is ${bytes} bytes (body plus attribute names and values); the limit is ${MAX_MESSAGE_BYTES} bytes of UTF-8`,
      { path: 'messages' in body ? `messages.${index}` : '', limitBytes: MAX_MESSAGE_BYTES, bytes },
    );
  });
}
