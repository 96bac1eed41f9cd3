// POST <queue or topic>/messages, the one route a queue's sends and a topic's publishes
// share (docs/API.md): one message, a batch of up to 100, or a batcher that gathers
// single calls into batch requests.
import { SendBatcher, type BatchOptions } from './batcher.js';
import type { CallOptions } from './inbox.js';
import type { RestClient } from './rest.js';
import type { SentView } from './types.js';

export class MessagesRoute<M extends { body: string }> {
  private readonly path: string;

  constructor(private readonly rest: RestClient, channelPath: string) {
    this.path = `${channelPath}/messages`;
  }

  /** One message; a string is the body. */
  one(message: M | string, opts: CallOptions = {}): Promise<SentView> {
    return this.rest.call({ method: 'POST', path: this.path, body: typeof message === 'string' ? { body: message } : message, ...opts });
  }

  /** Up to 100 messages in one request, answered in the same order. */
  async many(messages: (M | string)[], opts: CallOptions = {}): Promise<SentView[]> {
    const body = { messages: messages.map((m) => (typeof m === 'string' ? { body: m } : m)) };
    const out = await this.rest.call<{ messages: SentView[] }>({ method: 'POST', path: this.path, body, ...opts });
    return out.messages;
  }

  /** A sender that gathers single calls into batch requests (see SendBatcher). */
  batcher(opts: BatchOptions = {}): SendBatcher {
    return new SendBatcher(async (body) => {
      const out = await this.rest.call<{ messages: SentView[] }>({ method: 'POST', path: this.path, body });
      return out.messages;
    }, opts);
  }
}
