// MomClient: the entry point. It holds one RestClient (connections, leader, token) and
// hands out small objects per queue, topic and subscription. A stream transport plugs
// in beside it: connectionInfo() gives what a stream connection needs (docs/CLIENT.md).
import { QueueClient } from './queues.js';
import { RestClient, apiError, type RestOptions } from './rest.js';
import { TopicClient } from './topics.js';
import type { CallOptions } from './inbox.js';
import type { ClusterStatus, CreateQueueInput, CreateTopicInput, LoginResult, QueueView, TopicView } from './types.js';

export type MomClientOptions = RestOptions;

export class MomClient {
  readonly rest: RestClient;

  constructor(opts: MomClientOptions) {
    this.rest = new RestClient(opts);
  }

  get token(): string | undefined {
    return this.rest.token;
  }

  set token(token: string | undefined) {
    this.rest.token = token;
  }

  /** Node origins, the leader if known and the token: what a stream connection needs. */
  connectionInfo(): { urls: readonly string[]; leaderUrl?: string; token?: string } {
    return { urls: this.rest.endpoints.origins, leaderUrl: this.rest.endpoints.leaderOrigin, token: this.rest.token };
  }

  async register(username: string, password: string, opts: CallOptions = {}): Promise<{ username: string }> {
    return this.rest.call({ method: 'POST', path: '/v1/auth/register', body: { username, password }, token: '', ...opts });
  }

  /** Logs in and keeps the token for the following requests. */
  async login(username: string, password: string, opts: { signal?: AbortSignal } = {}): Promise<LoginResult> {
    const out = await this.rest.call<LoginResult>({ method: 'POST', path: '/v1/auth/login', body: { username, password }, token: '', signal: opts.signal });
    this.rest.token = out.token;
    return out;
  }

  queue(name: string): QueueClient {
    return new QueueClient(this.rest, name);
  }

  topic(name: string): TopicClient {
    return new TopicClient(this.rest, name);
  }

  async createQueue(input: CreateQueueInput, opts: CallOptions = {}): Promise<QueueView> {
    return this.rest.call({ method: 'POST', path: '/v1/queues', body: input, ...opts });
  }

  async listQueues(opts: { signal?: AbortSignal } = {}): Promise<QueueView[]> {
    return (await this.rest.call<{ queues: QueueView[] }>({ method: 'GET', path: '/v1/queues', signal: opts.signal })).queues;
  }

  async createTopic(input: CreateTopicInput, opts: CallOptions = {}): Promise<TopicView> {
    return this.rest.call({ method: 'POST', path: '/v1/topics', body: input, ...opts });
  }

  async listTopics(opts: { signal?: AbortSignal } = {}): Promise<TopicView[]> {
    return (await this.rest.call<{ topics: TopicView[] }>({ method: 'GET', path: '/v1/topics', signal: opts.signal })).topics;
  }

  /** GET /v1/cluster of one node (default: any), not redirected: that node's own view. */
  async clusterStatus(opts: { origin?: string; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ClusterStatus> {
    const reply = await this.rest.exchange('GET', '/v1/cluster', {}, undefined, { origin: opts.origin ?? this.rest.endpoints.any(), signal: opts.signal, timeoutMs: opts.timeoutMs });
    if (reply.status !== 200) throw apiError(reply);
    return JSON.parse(reply.text) as ClusterStatus;
  }

  /** Asks the nodes until one names a leader that calls itself leader; remembers it. */
  async findLeader(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string | undefined> {
    for (const origin of this.rest.endpoints.origins) {
      const view = await this.clusterStatus({ origin, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 1000 }).catch(() => undefined);
      if (view?.leaderUrl == null) continue;
      const leader = new URL(view.leaderUrl).origin;
      const confirmed = leader === origin ? view : await this.clusterStatus({ origin: leader, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 1000 }).catch(() => undefined);
      if (confirmed?.role === 'leader') {
        this.rest.endpoints.setLeader(leader);
        return leader;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.rest.close();
  }
}
