// A topic by name (publish, grants, subscriptions) and a subscription (an Inbox).
import type { BatchOptions, SendBatcher } from './batcher.js';
import { Inbox, type CallOptions } from './inbox.js';
import { MessagesRoute } from './messages-route.js';
import type { RestClient } from './rest.js';
import type {
  CreateSubscriptionInput, PublishMessageInput, SentView, SubscriptionView, TopicPermission, TopicView,
} from './types.js';

export class TopicClient {
  readonly path: string;

  private readonly messages: MessagesRoute<PublishMessageInput>;

  constructor(private readonly rest: RestClient, readonly name: string) {
    this.path = `/v1/topics/${encodeURIComponent(name)}`;
    this.messages = new MessagesRoute(rest, this.path);
  }

  publish(message: PublishMessageInput | string, opts: CallOptions = {}): Promise<SentView> {
    return this.messages.one(message, opts);
  }

  publishBatch(messages: (PublishMessageInput | string)[], opts: CallOptions = {}): Promise<SentView[]> {
    return this.messages.many(messages, opts);
  }

  batcher(opts: BatchOptions = {}): SendBatcher {
    return this.messages.batcher(opts);
  }

  get(opts: { signal?: AbortSignal } = {}): Promise<TopicView> {
    return this.rest.call({ method: 'GET', path: this.path, signal: opts.signal });
  }

  async delete(opts: CallOptions = {}): Promise<void> {
    await this.rest.call({ method: 'DELETE', path: this.path, ...opts });
  }

  grant(username: string, permissions: TopicPermission[], opts: CallOptions = {}): Promise<{ username: string; permissions: TopicPermission[] }> {
    return this.rest.call({ method: 'PUT', path: `${this.path}/grants/${encodeURIComponent(username)}`, body: { permissions }, ...opts });
  }

  async revoke(username: string, opts: CallOptions = {}): Promise<void> {
    await this.rest.call({ method: 'DELETE', path: `${this.path}/grants/${encodeURIComponent(username)}`, ...opts });
  }

  createSubscription(input: CreateSubscriptionInput, opts: CallOptions = {}): Promise<SubscriptionView> {
    return this.rest.call({ method: 'POST', path: `${this.path}/subscriptions`, body: input, ...opts });
  }

  async subscriptions(opts: { signal?: AbortSignal } = {}): Promise<SubscriptionView[]> {
    const out = await this.rest.call<{ subscriptions: SubscriptionView[] }>({ method: 'GET', path: `${this.path}/subscriptions`, signal: opts.signal });
    return out.subscriptions;
  }

  subscription(name: string): SubscriptionClient {
    return new SubscriptionClient(this.rest, this, name);
  }
}

export class SubscriptionClient extends Inbox {
  constructor(rest: RestClient, readonly topic: TopicClient, readonly name: string) {
    super(rest, `${topic.path}/subscriptions/${encodeURIComponent(name)}`);
  }

  async delete(opts: CallOptions = {}): Promise<void> {
    await this.rest.call({ method: 'DELETE', path: this.path, ...opts });
  }
}
