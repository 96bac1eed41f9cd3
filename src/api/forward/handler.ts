// The leader's side of forward mode: a follower's relayed request is served by this
// node's own app (auth is re-verified, the state machine re-checks authorization), in
// process, and the answer goes back. Relayed requests reach the app only through here:
// no header of a client can make a request count as relayed.
import type { ApiApp } from '../app.js';
import { decodeForwardedRequest, encodeForwardedResponse } from './codec.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

/** The node's forward handler; `signal` (the follower's client went away) ends a long
 *  poll as if its client had left. */
export function forwardHandler(app: ApiApp): (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array> {
  return async (payload, signal) => {
    const req = decodeForwardedRequest(payload);
    if (!METHODS.has(req.method) || !req.url.startsWith('/')) {
      return encodeForwardedResponse({
        status: 400,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.from(JSON.stringify({ error: { code: 'validation_failed', message: 'bad forwarded request', details: null } })),
      });
    }
    return encodeForwardedResponse(await app.serveForwarded(req, signal));
  };
}
