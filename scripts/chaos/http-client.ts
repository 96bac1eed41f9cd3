// The workload's HTTP client: talks to any node, follows 307 redirects to the leader
// (re-sending Authorization and Idempotency-Key, which fetch and curl would drop), and
// classifies every attempt the way the checker needs: ok, fail (certainly not applied)
// or info (unknown).
import { Agent, request } from 'undici';

/** `node`: the origin that gave the final answer (or failed), for reading histories. */
export type AttemptOutcome =
  | { type: 'ok'; status: number; body: unknown; node?: string }
  | { type: 'fail' | 'info'; status?: number; body?: unknown; error: string; retryAfterMs?: number; node?: string };

export interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  token?: string;
  idempotencyKey?: string;
  timeoutMs: number;
}

const MAX_REDIRECTS = 5;

export class BrokerHttpClient {
  private leaderUrl: string | undefined;
  /** Nodes that refused a connection recently: avoided for a moment, as a client would. */
  private readonly refusedUntil = new Map<string, number>();
  private readonly agent = new Agent({
    connect: { timeout: 2000 },
    keepAliveTimeout: 4000,
    keepAliveMaxTimeout: 10_000,
    connections: 64,
  });

  constructor(private readonly nodeUrls: readonly string[], private readonly random: () => number = Math.random) {}

  /** One attempt (redirects included). Never throws. */
  async call(opts: CallOptions): Promise<AttemptOutcome> {
    const state = { url: `${this.leaderUrl ?? this.randomNode()}${opts.path}` };
    const out = await this.attempt(opts, state);
    return { ...out, node: new URL(state.url).origin };
  }

  private async attempt(opts: CallOptions, state: { url: string }): Promise<AttemptOutcome> {
    let url = state.url;
    const deadline = Date.now() + opts.timeoutMs;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
      if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
      const left = deadline - Date.now();
      if (left <= 0) return { type: 'info', error: 'timeout (redirects)' };
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method: opts.method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          dispatcher: this.agent,
          headersTimeout: left,
          bodyTimeout: left,
          signal: AbortSignal.timeout(left),
        });
      } catch (err) {
        this.leaderUrl = undefined;
        const outcome = classifyError(err);
        if (outcome.type !== 'ok' && (outcome.type === 'fail' || outcome.error === 'UND_ERR_CONNECT_TIMEOUT')) this.refusedUntil.set(new URL(url).origin, Date.now() + 1000);
        return outcome;
      }
      const text = await res.body.text().catch(() => undefined);
      if (text === undefined) {
        this.leaderUrl = undefined;
        return { type: 'info', status: res.statusCode, error: 'body lost' };
      }
      const body = parseJson(text);
      if (res.statusCode === 307 || res.statusCode === 308) {
        const location = header(res.headers, 'location');
        if (location === undefined) return { type: 'info', status: res.statusCode, error: 'redirect without location' };
        const next = new URL(location, url);
        this.leaderUrl = next.origin;
        url = next.toString();
        state.url = url;
        continue;
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return { type: 'ok', status: res.statusCode, body };
      const code = errorCode(body);
      const retryAfter = Number(header(res.headers, 'retry-after'));
      const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
      if (res.statusCode >= 500) {
        // A 5xx may come after the command was proposed: the outcome is unknown.
        this.leaderUrl = undefined;
        return { type: 'info', status: res.statusCode, body, error: `${res.statusCode} ${code}`, retryAfterMs };
      }
      return { type: 'fail', status: res.statusCode, body, error: `${res.statusCode} ${code}`, retryAfterMs };
    }
    return { type: 'info', error: 'too many redirects' };
  }

  /** Plain GET of one node, no redirect following (health, readiness, cluster status, stale reads). */
  async getNode(
    nodeUrl: string, path: string, timeoutMs: number, token?: string,
  ): Promise<{ status: number; body: unknown; appliedIndex?: number } | undefined> {
    try {
      const res = await request(`${nodeUrl}${path}`, {
        method: 'GET', dispatcher: this.agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      const applied = Number(header(res.headers, 'x-mom-applied-index'));
      return { status: res.statusCode, body: parseJson(text), ...(Number.isFinite(applied) && { appliedIndex: applied }) };
    } catch {
      return undefined;
    }
  }

  forgetLeader(): void {
    this.leaderUrl = undefined;
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private randomNode(): string {
    const now = Date.now();
    const usable = this.nodeUrls.filter((u) => (this.refusedUntil.get(u) ?? 0) <= now);
    const from = usable.length > 0 ? usable : this.nodeUrls;
    return from[Math.floor(this.random() * from.length)];
  }
}

function classifyError(err: unknown): AttemptOutcome {
  const code = errCode(err);
  // Refused at connect: nothing was sent, so nothing can have happened.
  if (code === 'ECONNREFUSED') return { type: 'fail', error: code };
  return { type: 'info', error: code ?? String(err) };
}

function errCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown };
  if (typeof e.code === 'string') {
    const inner = errCode(e.cause);
    return inner === 'ECONNREFUSED' ? inner : e.code;
  }
  if (e.cause !== undefined) return errCode(e.cause);
  return typeof e.name === 'string' ? e.name : undefined;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try { return JSON.parse(text); } catch { return text; }
}

function errorCode(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = (body as { error: { code?: unknown } }).error;
    if (typeof e?.code === 'string') return e.code;
  }
  return 'error';
}
