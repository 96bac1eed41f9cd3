// A small HTTP client for the API conformance tests: raw requests (no redirect
// following) and a "user" client that follows 307s re-sending its Authorization header,
// as docs/API.md tells client code to, and retries 503 no_leader while an election
// settles. It stays raw on purpose: the suite sends malformed bodies and headers and
// reads every response header, which the typed client (src/client) does not expose;
// tests that need a careful client use that.
import { randomUUID } from 'node:crypto';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined. */
  json: any;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

export async function rawRequest(baseUrl: string, method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows up to 5 redirects (method, body and Authorization intact) and retries 503s
 * for up to `retryForMs`. Like a careful client, it gives every write without one an
 * Idempotency-Key, so that a retry after a leader change cannot apply a write twice.
 */
export async function request(baseUrl: string, method: string, path: string, opts: RequestOptions = {}, retryForMs = 10_000): Promise<RawResponse> {
  const deadline = Date.now() + retryForMs;
  const hasKey = Object.keys(opts.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key');
  if (method !== 'GET' && !hasKey && path !== '/v1/auth/login') {
    opts = { ...opts, headers: { ...opts.headers, 'idempotency-key': `auto-${randomUUID()}` } };
  }
  for (;;) {
    let url = baseUrl;
    let res: RawResponse;
    let hops = 0;
    for (;;) {
      res = await rawRequest(url, method, path, opts);
      if (res.status !== 307 || hops++ >= 5) break;
      const location = new URL(res.headers.get('location')!);
      url = location.origin;
      path = location.pathname + location.search;
    }
    if (res.status === 503 && Date.now() < deadline) {
      await sleep(200);
      continue;
    }
    return res;
  }
}
