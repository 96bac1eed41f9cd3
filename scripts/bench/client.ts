// The load generator's HTTP side, on the client library (src/client): finds the Raft
// leader through GET /v1/cluster and sends writes straight to it over keep-alive (and,
// where asked, pipelined) connections, so redirects do not distort the figures. A 307
// is still followed, with the Authorization header re-sent, and counted. The hot loop
// uses RestClient.exchange (one attempt, no retry policy): the bench counts failures
// itself.
import { MomClient, RestClient, type ClusterStatus, type HttpMethod, type PoolShape, type Reply } from '../../src/client/index.js';

export type { PoolShape, Reply };

export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly text: string, what: string) {
    super(`${what}: HTTP ${status} ${text.slice(0, 200)}`);
    this.name = 'HttpStatusError';
  }
}

/** GET /v1/cluster (docs/API.md, Health and cluster). */
export type ClusterView = ClusterStatus;

const DEFAULT_POST_TIMEOUT_MS = 30_000;

export class BrokerLink {
  token = '';
  private readonly client: MomClient;
  private leaderSearch: Promise<string> | undefined;

  constructor(readonly nodeUrls: readonly string[]) {
    this.client = new MomClient({ urls: nodeUrls, pool: { connections: 8 } });
    this.client.rest.endpoints.setLeader(this.client.rest.endpoints.origins[0]);
  }

  get rest(): RestClient {
    return this.client.rest;
  }

  /** Origin of the node the writes go to (the leader when last asked). */
  get leaderUrl(): string {
    return this.rest.endpoints.leaderOrigin ?? this.rest.endpoints.origins[0];
  }

  get redirects(): number {
    return this.rest.redirects;
  }

  headers(json = true): Record<string, string> {
    return this.rest.headers(json, undefined, this.token);
  }

  /** Asks the nodes for the leader until one names a leader that answers itself as leader. */
  async findLeader(timeoutMs = 20_000, avoid?: string): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const url of this.nodeUrls) {
        if (url === avoid) continue;
        const view = await this.clusterView(url);
        if (view?.leaderUrl == null || view.leaderUrl === avoid) continue;
        const leaderView = view.leaderUrl === url ? view : await this.clusterView(view.leaderUrl);
        if (leaderView?.role === 'leader') {
          this.rest.endpoints.setLeader(new URL(view.leaderUrl).origin);
          return this.leaderUrl;
        }
      }
      if (performance.now() > deadline) throw new Error(`no leader found within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** One search shared by every worker that lost the leader at the same time. */
  findNewLeader(lost: string, timeoutMs = 20_000): Promise<string> {
    if (this.leaderUrl !== lost) return Promise.resolve(this.leaderUrl);
    this.leaderSearch ??= this.findLeader(timeoutMs, lost).finally(() => { this.leaderSearch = undefined; });
    return this.leaderSearch;
  }

  async clusterView(url: string): Promise<ClusterView | undefined> {
    try {
      return await this.client.clusterStatus({ origin: new URL(url).origin, timeoutMs: 1000 });
    } catch {
      return undefined;
    }
  }

  /** A request to the leader, following redirects. */
  async call(method: HttpMethod, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return this.rest.exchange(method, path, this.headers(payload !== undefined), payload, { timeoutMs });
  }

  /** call(), then the parsed JSON of a 2xx answer; anything else throws. */
  async json<T>(method: HttpMethod, path: string, body?: unknown, okStatuses: number[] = []): Promise<T> {
    const reply = await this.call(method, path, body);
    if ((reply.status < 200 || reply.status >= 300) && !okStatuses.includes(reply.status)) throw new HttpStatusError(reply.status, reply.text, `${method} ${path}`);
    return (reply.text === '' ? undefined : JSON.parse(reply.text)) as T;
  }

  async get(url: string, path: string, timeoutMs = 1000): Promise<Reply | undefined> {
    try {
      return await this.rest.exchange('GET', path, {}, undefined, { origin: new URL(url).origin, timeoutMs });
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * Keep-alive connections to the current leader for one scenario's hot loop, sharing the
 * link's idea of the leader. The JSON bodies are prepared by the caller once; this only
 * moves bytes.
 */
export class LeaderPool {
  private readonly rest: RestClient;
  private readonly headers: Record<string, string>;
  private readonly pipelined: boolean;
  /** The options of a post with the default timeout, made once for the hot loop. */
  private readonly defaults: { timeoutMs: number; pipelined: boolean };

  constructor(private readonly link: BrokerLink, shape: PoolShape) {
    this.rest = new RestClient({ urls: link.nodeUrls, endpoints: link.rest.endpoints, pool: { ...shape, connectTimeoutMs: 2000 } });
    this.headers = link.headers(true);
    this.pipelined = shape.pipelining > 1;
    this.defaults = { timeoutMs: DEFAULT_POST_TIMEOUT_MS, pipelined: this.pipelined };
  }

  /** The node the next request goes to. */
  get target(): string {
    return this.link.leaderUrl;
  }

  /** POST a prepared JSON body (text, or bytes built once for many requests) to the
   *  leader; a 307 moves every pool to the named leader. */
  post(path: string, body: string | Uint8Array, timeoutMs = DEFAULT_POST_TIMEOUT_MS, idempotencyKey?: string): Promise<Reply> {
    const headers = idempotencyKey === undefined ? this.headers : { ...this.headers, 'idempotency-key': idempotencyKey };
    const opts = timeoutMs === DEFAULT_POST_TIMEOUT_MS ? this.defaults : { timeoutMs, pipelined: this.pipelined };
    return this.rest.exchange('POST', path, headers, body, opts);
  }

  async close(): Promise<void> {
    await this.rest.close();
  }
}
