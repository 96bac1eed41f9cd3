// The leader's side of forward mode: a follower's relayed request is replayed through
// this node's own HTTP server over loopback, so it meets exactly the same app (auth is
// re-verified, the state machine re-checks authorization), and the answer goes back.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Pool } from 'undici';
import { FORWARD_CLIENT_HEADER, FORWARD_SECRET_HEADER } from '../leader.js';
import { decodeForwardedRequest, encodeForwardedResponse } from './codec.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);
const DROP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

export class ForwardReplayer {
  /** Proves to our own app that a request came from this handler. */
  readonly secret = randomBytes(24).toString('base64url');
  private readonly secretBytes = Buffer.from(this.secret);
  private pool: Pool | undefined;

  constructor(private readonly timeoutMs = 40_000) {}

  /** Points the replayer at this node's own server once it listens. */
  attach(origin: string): void {
    this.pool = new Pool(origin, { connections: 64, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
  }

  /** Whether a request carries this process's forward secret. */
  isForwarded(headerValue: string | undefined): boolean {
    if (!headerValue) return false;
    const given = Buffer.from(headerValue);
    return given.length === this.secretBytes.length && timingSafeEqual(given, this.secretBytes);
  }

  /** Replays one relayed request; `signal` (the follower cancelled) hangs up on our own
   *  server, which ends a long poll as if its client had left. */
  readonly handle = async (payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> => {
    const req = decodeForwardedRequest(payload);
    if (!METHODS.has(req.method) || !req.url.startsWith('/')) {
      return encodeForwardedResponse({
        status: 400,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.from(JSON.stringify({ error: { code: 'validation_failed', message: 'bad forwarded request', details: null } })),
      });
    }
    if (!this.pool) throw new Error('forward replayer not attached to the HTTP server yet');
    const res = await this.pool.request({
      method: req.method,
      path: req.url,
      headers: { ...req.headers, [FORWARD_SECRET_HEADER]: this.secret, [FORWARD_CLIENT_HEADER]: req.clientAddress },
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.from(req.body),
      signal,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || DROP_RESPONSE_HEADERS.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return encodeForwardedResponse({ status: res.statusCode, headers, body });
  };

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
