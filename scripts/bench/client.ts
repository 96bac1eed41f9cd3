// The load generator's HTTP side (undici): finds the Raft leader through GET /v1/cluster
// and sends writes straight to it over keep-alive (and, where asked, pipelined)
// connections, so redirects do not distort the figures. A 307 is still followed, with
// the Authorization header re-sent, and counted.
import { Agent, Pool, type Dispatcher } from 'undici';
import type { ClusterStatus } from '../../src/client/types.js';

export interface Reply {
  status: number;
  text: string;
  location?: string;
}

export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly text: string, what: string) {
    super(`${what}: HTTP ${status} ${text.slice(0, 200)}`);
    this.name = 'HttpStatusError';
  }
}

/** GET /v1/cluster (docs/API.md, Health and cluster). */
export type ClusterView = ClusterStatus;

const MAX_REDIRECTS = 3;

async function exchange(dispatcher: Dispatcher, origin: string, method: Dispatcher.HttpMethod, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, idempotent = false): Promise<Reply> {
  const res = await dispatcher.request({
    origin, path, method, headers, body,
    // undici pipelines only requests it may retry; the bench asks for it explicitly
    // on the pools built for pipelining. It never retries on its own.
    idempotent,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  const loc = res.headers.location;
  return { status: res.statusCode, text, location: Array.isArray(loc) ? loc[0] : loc };
}

/**
 * The hot-loop request: undici's dispatch with a handler that only collects the answer,
 * which costs the load generator less CPU per request than request() and its body stream
 * (the generator shares the two cores with the servers it measures).
 */
function dispatchText(dispatcher: Dispatcher, origin: string, method: Dispatcher.HttpMethod, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, idempotent: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let location: string | undefined;
    const chunks: Buffer[] = [];
    // The classic handler shape: Pool.dispatch in undici 7 still validates it.
    dispatcher.dispatch({ origin, path, method, headers, body, idempotent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, {
      onConnect() {},
      onHeaders(statusCode: number, rawHeaders: Buffer[]) {
        status = statusCode;
        if (statusCode >= 300 && statusCode < 400) {
          for (let i = 0; i < rawHeaders.length; i += 2) {
            if (rawHeaders[i].toString().toLowerCase() === 'location') location = rawHeaders[i + 1].toString();
          }
        }
        return true;
      },
      onData(chunk: Buffer) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        resolve({ status, text: chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString(), location });
      },
      onError(error: Error) {
        reject(error);
      },
    });
  });
}

export class BrokerLink {
  /** Origin of the node the writes go to (the leader when last asked). */
  leaderUrl: string;
  token = '';
  redirects = 0;
  private readonly agent = new Agent({ connections: 8, keepAliveTimeout: 10_000, keepAliveMaxTimeout: 30_000 });
  private leaderSearch: Promise<string> | undefined;

  constructor(readonly nodeUrls: readonly string[]) {
    this.leaderUrl = nodeUrls[0];
  }

  headers(json = true): Record<string, string> {
    const h: Record<string, string> = {};
    if (json) h['content-type'] = 'application/json';
    if (this.token !== '') h.authorization = `Bearer ${this.token}`;
    return h;
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
          this.leaderUrl = new URL(view.leaderUrl).origin;
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
      const reply = await exchange(this.agent, new URL(url).origin, 'GET', '/v1/cluster', {}, undefined, 1000, true);
      return reply.status === 200 ? (JSON.parse(reply.text) as ClusterView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A request to the leader through the shared agent, following redirects. */
  async call(method: Dispatcher.HttpMethod, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
    let origin = this.leaderUrl;
    let target = path;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    for (let hop = 0; ; hop++) {
      const reply = await exchange(this.agent, origin, method, target, this.headers(payload !== undefined), payload, timeoutMs);
      if ((reply.status !== 307 && reply.status !== 308) || reply.location === undefined || hop >= MAX_REDIRECTS) return reply;
      this.redirects++;
      const next = new URL(reply.location, origin);
      origin = next.origin;
      target = next.pathname + next.search;
      this.leaderUrl = origin;
    }
  }

  /** call(), then the parsed JSON of a 2xx answer; anything else throws. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, okStatuses: number[] = []): Promise<T> {
    const reply = await this.call(method, path, body);
    if ((reply.status < 200 || reply.status >= 300) && !okStatuses.includes(reply.status)) throw new HttpStatusError(reply.status, reply.text, `${method} ${path}`);
    return (reply.text === '' ? undefined : JSON.parse(reply.text)) as T;
  }

  async get(url: string, path: string, timeoutMs = 1000): Promise<Reply | undefined> {
    try {
      return await exchange(this.agent, new URL(url).origin, 'GET', path, {}, undefined, timeoutMs, true);
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

export interface PoolShape {
  connections: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining); 1 = keep-alive only. */
  pipelining: number;
}

/**
 * Keep-alive connections to the current leader for one scenario's hot loop. The JSON
 * bodies are prepared by the caller once; this only moves bytes.
 */
export class LeaderPool {
  private pool: Pool;
  private origin: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly link: BrokerLink, private readonly shape: PoolShape) {
    this.origin = link.leaderUrl;
    this.pool = this.open(this.origin);
    this.headers = link.headers(true);
  }

  get target(): string {
    return this.origin;
  }

  /** POST a prepared JSON body; a 307 moves the pool to the named leader. */
  async post(path: string, body: string, timeoutMs = 30_000, idempotencyKey?: string): Promise<Reply> {
    const headers = idempotencyKey === undefined ? this.headers : { ...this.headers, 'idempotency-key': idempotencyKey };
    for (let hop = 0; ; hop++) {
      if (this.origin !== this.link.leaderUrl) this.retarget(this.link.leaderUrl);
      const reply = await dispatchText(this.pool, this.origin, 'POST', path, headers, body, timeoutMs, this.shape.pipelining > 1);
      if ((reply.status !== 307 && reply.status !== 308) || reply.location === undefined || hop >= MAX_REDIRECTS) return reply;
      this.link.redirects++;
      const next = new URL(reply.location, this.origin);
      this.link.leaderUrl = next.origin;
      path = next.pathname + next.search;
    }
  }

  /** Points the pool at another node (after a failover); the old connections close. */
  retarget(origin: string): void {
    if (origin === this.origin) return;
    const old = this.pool;
    this.origin = origin;
    this.pool = this.open(origin);
    // close(), not destroy(): requests still in flight there get their answers (307s).
    void old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }

  private open(origin: string): Pool {
    return new Pool(origin, {
      connections: this.shape.connections,
      pipelining: this.shape.pipelining,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connect: { timeout: 2000 },
    });
  }
}
