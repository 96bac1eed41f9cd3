// The REST core every typed method goes through. exchange() is one attempt: it follows
// 307/308 to the leader with method, body, Authorization and Idempotency-Key intact
// (fetch and curl drop Authorization on a redirect to another port; see docs/CLIENT.md)
// and remembers the leader. call() adds the retry policy: a write carries one
// Idempotency-Key for all its attempts, so retrying after a timeout, a dropped
// connection or a leader change applies it at most once.
import { randomUUID } from 'node:crypto';
import { Endpoints } from './endpoints.js';
import { MomApiError, MomConnectionError, MomRetriesExhaustedError, abortReason, errorBody } from './errors.js';
import { HttpTransport, type HttpMethod, type Reply, type TransportOptions } from './http.js';
import { DEFAULT_RETRY, backoffMs, type RetryPolicy } from './retry.js';

const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface RestOptions {
  /** One or more node URLs (any node; the client finds the leader). */
  urls: readonly string[];
  token?: string;
  /** Per-attempt timeout (a long poll adds its waitMs). Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Connections per node, pipelining, timeouts of connections. */
  pool?: TransportOptions;
  /** For tests: the node choice. */
  random?: () => number;
  /** Shares leader knowledge with another client (e.g. one per connection shape). */
  endpoints?: Endpoints;
}

export interface RestRequest {
  method: HttpMethod;
  /** Path and query, e.g. `/v1/queues/orders`. */
  path: string;
  /** A value sent as JSON, or a string already in JSON. */
  body?: unknown;
  /** Writes get a generated key unless one is given; `false` sends none. */
  idempotencyKey?: string | false;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** `false`: one attempt (redirects still followed). */
  retry?: boolean | Partial<RetryPolicy>;
  /** Overrides the client's token for this request. */
  token?: string;
}

export class RestClient {
  readonly endpoints: Endpoints;
  readonly transport: HttpTransport;
  private tokenValue: string | undefined;
  /** Per-attempt timeout of a request. */
  readonly attemptTimeoutMs: number;
  private readonly retryPolicy: RetryPolicy;

  constructor(opts: RestOptions) {
    this.endpoints = opts.endpoints ?? new Endpoints(opts.urls, opts.random);
    this.transport = new HttpTransport(opts.pool);
    this.tokenValue = opts.token;
    this.attemptTimeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  }

  /** Redirects followed so far, by every client sharing these endpoints. */
  get redirects(): number {
    return this.endpoints.redirects;
  }

  get token(): string | undefined {
    return this.tokenValue;
  }

  set token(token: string | undefined) {
    this.tokenValue = token;
  }

  /** Headers of a request: JSON, the bearer token, the key. */
  headers(hasBody: boolean, idempotencyKey?: string, token = this.tokenValue): Record<string, string> {
    const h: Record<string, string> = {};
    if (hasBody) h['content-type'] = 'application/json';
    if (token !== undefined && token !== '') h.authorization = `Bearer ${token}`;
    if (idempotencyKey !== undefined) h['idempotency-key'] = idempotencyKey;
    return h;
  }

  /**
   * One attempt at `origin` (default: the leader if known), following redirects.
   * Resolves with any HTTP answer (its `origin` is the node that gave it); rejects with
   * MomConnectionError or the signal's reason. The hot path of the benchmark: one
   * transport call and no clock reading unless a redirect comes.
   */
  async exchange(
    method: HttpMethod, path: string, headers: Record<string, string>, body: string | Uint8Array | undefined,
    opts: { origin?: string; timeoutMs?: number; signal?: AbortSignal; pipelined?: boolean } = {},
  ): Promise<Reply> {
    let origin = opts.origin ?? this.endpoints.pick();
    const timeoutMs = opts.timeoutMs ?? this.attemptTimeoutMs;
    // The redirects share one more timeoutMs, counted from the first of them.
    let deadline = 0;
    for (let hop = 0; ; hop++) {
      let left = timeoutMs;
      if (hop > 0) {
        left = deadline - Date.now();
        if (left <= 0) throw new MomConnectionError('REDIRECT_TIMEOUT', origin, true);
      }
      const reply = await this.transport.exchange({ origin, path, method, headers, body, timeoutMs: left, signal: opts.signal, pipelined: opts.pipelined });
      if (reply.status !== 307 && reply.status !== 308) return reply;
      if (reply.location === undefined) throw new MomConnectionError('REDIRECT_WITHOUT_LOCATION', origin, true);
      if (hop >= MAX_REDIRECTS) throw new MomConnectionError('TOO_MANY_REDIRECTS', origin, true);
      if (hop === 0) deadline = Date.now() + timeoutMs;
      const next = new URL(reply.location, origin);
      origin = next.origin;
      path = next.pathname + next.search;
      this.endpoints.redirected(origin);
    }
  }

  /** The request with retries; the parsed JSON of a 2xx answer, else a typed error. */
  async call<T>(req: RestRequest): Promise<T> {
    const reply = await this.callRaw(req);
    return parseJson(reply.text) as T;
  }

  /** Like call(), but the raw 2xx reply. */
  async callRaw(req: RestRequest): Promise<Reply> {
    const write = req.method !== 'GET';
    const key = req.idempotencyKey === false ? undefined : req.idempotencyKey ?? (write ? randomUUID() : undefined);
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers = this.headers(body !== undefined, key, req.token ?? this.tokenValue);
    const policy = req.retry === false ? { ...this.retryPolicy, attempts: 1 } : { ...this.retryPolicy, ...(typeof req.retry === 'object' && req.retry) };
    const deadline = Date.now() + policy.deadlineMs;
    // A write without a key must not be repeated once it may have reached the broker.
    const repeatable = !write || key !== undefined;
    for (let attempt = 1; ; attempt++) {
      let failure: MomApiError | MomConnectionError;
      let origin = this.endpoints.pick();
      let waitMs: number | undefined;
      try {
        const reply = await this.exchange(req.method, req.path, headers, body, { origin, timeoutMs: req.timeoutMs, signal: req.signal });
        origin = reply.origin;
        const { status } = reply;
        if (status >= 200 && status < 300) return reply;
        failure = apiError(reply);
        waitMs = reply.retryAfterMs;
        if (!retryableStatus(status)) throw failure;
        // 503: this node knows no leader (or is stopping); ask another.
        this.endpoints.failed(origin);
      } catch (err) {
        if (!(err instanceof MomConnectionError)) throw err;
        failure = err;
        this.endpoints.failed(err.origin);
        if (err.maybeApplied && !repeatable) throw err;
      }
      if (attempt >= policy.attempts || Date.now() >= deadline) {
        if (policy.attempts === 1) throw failure;
        throw new MomRetriesExhaustedError(attempt, failure);
      }
      await sleep(Math.min(waitMs ?? backoffMs(policy, attempt), Math.max(0, deadline - Date.now())), req.signal);
    }
  }

  async close(): Promise<void> {
    await this.transport.destroy();
  }
}

/** 429 (rate limited) and 503 (no leader) were certainly not applied, or carry the key. */
function retryableStatus(status: number): boolean {
  return status === 429 || status === 503;
}

export function apiError(reply: Reply): MomApiError {
  const body = errorBody(parseJson(reply.text));
  return new MomApiError(reply.status, body?.code ?? `http_${reply.status}`, body?.message ?? reply.text.slice(0, 200), body?.details, reply.retryAfterMs);
}

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
