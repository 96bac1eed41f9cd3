// The workload's HTTP client, on the client library (src/client): talks to any node,
// follows 307 redirects to the leader (re-sending Authorization and Idempotency-Key,
// which fetch and curl would drop), and classifies every attempt the way the checker
// needs: ok, fail (certainly not applied) or info (unknown). One attempt per call():
// the workload decides about retries itself, so the library's retry policy is not used.
import { Endpoints, MomConnectionError, RestClient, parseJson, type HttpMethod } from '../../src/client/index.js';

/** `node`: the origin that gave the final answer (or failed), for reading histories. */
export type AttemptOutcome =
  | { type: 'ok'; status: number; body: unknown; node?: string }
  | { type: 'fail' | 'info'; status?: number; body?: unknown; error: string; retryAfterMs?: number; node?: string };

export interface CallOptions {
  method: HttpMethod;
  path: string;
  body?: unknown;
  token?: string;
  idempotencyKey?: string;
  timeoutMs: number;
}

/** Library codes for a redirect that went wrong, in the words the histories use. */
const REDIRECT_ERRORS: Record<string, string> = {
  REDIRECT_TIMEOUT: 'timeout (redirects)',
  REDIRECT_WITHOUT_LOCATION: 'redirect without location',
  TOO_MANY_REDIRECTS: 'too many redirects',
};

export class BrokerHttpClient {
  private readonly rest: RestClient;

  constructor(nodeUrls: readonly string[], random: () => number = Math.random) {
    this.rest = new RestClient({ urls: nodeUrls, endpoints: new Endpoints(nodeUrls, random), pool: { connections: 64, connectTimeoutMs: 2000, keepAliveTimeoutMs: 4000, keepAliveMaxTimeoutMs: 10_000 } });
  }

  /** One attempt (redirects included). Never throws. */
  async call(opts: CallOptions): Promise<AttemptOutcome> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers = this.rest.headers(body !== undefined, opts.idempotencyKey, opts.token);
    headers.accept = 'application/json';
    const endpoints = this.rest.endpoints;
    let reply;
    try {
      reply = await this.rest.exchange(opts.method, opts.path, headers, body, { timeoutMs: opts.timeoutMs });
    } catch (err) {
      endpoints.forgetLeader();
      if (!(err instanceof MomConnectionError)) return { type: 'info', error: String(err) };
      const redirect = REDIRECT_ERRORS[err.code];
      if (redirect !== undefined) return { type: 'info', error: redirect, node: err.origin };
      // A refused connection (or none made in time) sent nothing: avoid that node a moment.
      if (err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_CONNECT_TIMEOUT') endpoints.failed(err.origin);
      return { type: err.maybeApplied ? 'info' : 'fail', error: err.code, node: err.origin };
    }
    const node = reply.origin;
    const parsed = parseJson(reply.text);
    if (reply.status >= 200 && reply.status < 300) return { type: 'ok', status: reply.status, body: parsed, node };
    const error = `${reply.status} ${errorCode(parsed)}`;
    const retryAfterMs = reply.retryAfterMs;
    if (reply.status >= 500) {
      // A 5xx may come after the command was proposed: the outcome is unknown.
      endpoints.forgetLeader();
      return { type: 'info', status: reply.status, body: parsed, error, retryAfterMs, node };
    }
    return { type: 'fail', status: reply.status, body: parsed, error, retryAfterMs, node };
  }

  /** Plain GET of one node, no redirect following (health, readiness, cluster status, stale reads). */
  async getNode(
    nodeUrl: string, path: string, timeoutMs: number, token?: string,
  ): Promise<{ status: number; body: unknown; appliedIndex?: number } | undefined> {
    try {
      const reply = await this.rest.transport.exchange({
        origin: new URL(nodeUrl).origin, path, method: 'GET', timeoutMs,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: reply.status, body: parseJson(reply.text), ...(reply.appliedIndex !== undefined && { appliedIndex: reply.appliedIndex }) };
    } catch {
      return undefined;
    }
  }

  forgetLeader(): void {
    this.rest.endpoints.forgetLeader();
  }

  async close(): Promise<void> {
    await this.rest.close();
  }
}

function errorCode(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = (body as { error: { code?: unknown } }).error;
    if (typeof e?.code === 'string') return e.code;
  }
  return 'error';
}
