// A queue by name: send (one, many, or batched with a linger window), receive and the
// rest of docs/API.md's queue routes.
import type { BatchOptions, SendBatcher } from './batcher.js';
import { Inbox, type CallOptions } from './inbox.js';
import { MessagesRoute } from './messages-route.js';
import type { RestClient } from './rest.js';
import type { QueuePermission, QueueView, SendMessageInput, SentView } from './types.js';

export class QueueClient extends Inbox {
  constructor(rest: RestClient, readonly name: string) {
    super(rest, `/v1/queues/${encodeURIComponent(name)}`);
  }

  private readonly messages = new MessagesRoute<SendMessageInput>(this.rest, this.path);

  /** One message; a string is the body. */
  send(message: SendMessageInput | string, opts: CallOptions = {}): Promise<SentView> {
    return this.messages.one(message, opts);
  }

  /** Up to 100 messages in one request (docs/API.md), answered in the same order. */
  sendBatch(messages: (SendMessageInput | string)[], opts: CallOptions = {}): Promise<SentView[]> {
    return this.messages.many(messages, opts);
  }

  /** A sender that gathers send() calls into batch requests (see SendBatcher). */
  batcher(opts: BatchOptions = {}): SendBatcher {
    return this.messages.batcher(opts);
  }

  /** The queue with its stats (ready, inflight, delayed). */
  get(opts: { signal?: AbortSignal; stale?: boolean } = {}): Promise<QueueView> {
    return this.rest.call({ method: 'GET', path: this.path + (opts.stale === true ? '?consistency=stale' : ''), signal: opts.signal });
  }

  async delete(opts: CallOptions = {}): Promise<void> {
    await this.rest.call({ method: 'DELETE', path: this.path, ...opts });
  }

  purge(opts: CallOptions = {}): Promise<{ purged: number }> {
    return this.rest.call({ method: 'POST', path: `${this.path}/purge`, ...opts });
  }

  /** Changes a leased message's visibility timeout (extends or shortens its lease). */
  changeVisibility(receiptHandle: string, visibilityTimeoutMs: number, opts: CallOptions = {}): Promise<{ visibleAt: string }> {
    return this.rest.call({ method: 'POST', path: `${this.path}/visibility`, body: { receiptHandle, visibilityTimeoutMs }, ...opts });
  }

  grant(username: string, permissions: QueuePermission[], opts: CallOptions = {}): Promise<{ username: string; permissions: QueuePermission[] }> {
    return this.rest.call({ method: 'PUT', path: `${this.path}/grants/${encodeURIComponent(username)}`, body: { permissions }, ...opts });
  }

  async revoke(username: string, opts: CallOptions = {}): Promise<void> {
    await this.rest.call({ method: 'DELETE', path: `${this.path}/grants/${encodeURIComponent(username)}`, ...opts });
  }
}
