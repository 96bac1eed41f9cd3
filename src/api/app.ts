// The Koa app: every route of the table runs the same pipeline — authenticate, read and
// validate the request, then serve it here or through the leader — and every failure
// becomes docs/API.md's error body (Errors) in errors.ts. One request is served by
// dispatch(), which knows nothing of sockets: the Koa app's one middleware calls it, and
// the leader calls it directly for a request a follower relayed (serveForwarded),
// without a second HTTP exchange over loopback. Koa writes the answer, rendered once.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import Koa, { type Context } from 'koa';
import { parse as parseQueryString } from 'node:querystring';
import { ZodError, type z } from 'zod';
import { IDEMPOTENCY_KEY_PATTERN } from '../broker/index.js';
import { bearerToken } from './auth/tokens.js';
import { MAX_REQUEST_BYTES, MAX_UNAUTHENTICATED_REQUEST_BYTES, checkBodySize, parseJsonBody, readRawBody } from './body.js';
import type { ApiDeps } from './deps.js';
import { ApiError, errorBody, fromZodError, toApiError, validationFailed, type FieldIssue } from './errors.js';
import type { ForwardedRequest, ForwardedResponse } from './forward/codec.js';
import type { LeaderGate } from './leader.js';
import { ReplayedAnswer } from './replay.js';
import type { Answer, RouteInput, RouteSpec } from './route.js';
import { Router, type RouteMatch } from './router.js';

const EMPTY = Buffer.alloc(0);
const JSON_TYPE = 'application/json; charset=utf-8';
/** A signal for requests nobody can hang up on. */
const NEVER = new AbortController().signal;

export interface AppOptions {
  deps: ApiDeps;
  gate: LeaderGate;
  routes: RouteSpec[];
  /** The client's real address from the TCP peer and X-Forwarded-For (client-address.ts). */
  clientAddress: (peer: string | undefined, forwardedFor: string | string[] | undefined) => string;
  /** An answer may take the request's waitMs plus this long; then the connection is cut. */
  answerMarginMs: number;
}

/** What dispatch() needs of a request, wherever it came from. */
interface RequestHead {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Names in lower case. */
  headers: IncomingHttpHeaders;
  clientAddress: string;
  /** Relayed by a follower to this node, the leader: never redirect or forward again. */
  forwarded: boolean;
}

/** How dispatch() reads the request and watches its client, wherever it came from. */
interface Exchange {
  /** The whole body, refused (413) past `limit` bytes. */
  readBody(limit: number): Promise<Buffer>;
  /** Aborts when the client goes away. */
  clientGone(): AbortSignal;
  /** The answer must be out within `ms`, else the connection is cut. */
  answerDeadline(ms: number): void;
}

/** An answer rendered once: JSON already stringified. */
interface Reply {
  status: number;
  headers: Record<string, string> | undefined;
  contentType: string | undefined;
  body: string | Uint8Array | undefined;
}

export function validate<T extends z.ZodType>(schema: T, value: unknown, where: FieldIssue['in']): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error, where);
  return parsed.data;
}

export function parseBody(spec: RouteSpec, json: unknown): unknown {
  if (!spec.parseBody) return validate(spec.body, json, 'body');
  try {
    return spec.parseBody(json);
  } catch (err) {
    if (err instanceof ZodError) throw fromZodError(err, 'body');
    throw err;
  }
}

export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header === 'string' && IDEMPOTENCY_KEY_PATTERN.test(header)) return header;
  throw validationFailed([{ in: 'header', path: 'Idempotency-Key', message: 'must be 1..128 printable ASCII characters' }]);
}

/** The route handler's input. The abort signal is made only for the routes that read it
 *  (long polls): an AbortController per request was a measurable share of the leader's
 *  CPU under load. */
class Input implements RouteInput<unknown, unknown, unknown> {
  private abortSignal: AbortSignal | undefined;

  constructor(
    readonly user: string,
    readonly params: unknown,
    readonly query: unknown,
    readonly body: unknown,
    readonly idempotencyKey: string | undefined,
    readonly clientAddress: string,
    readonly headers: Readonly<Record<string, string | string[] | undefined>>,
    private readonly clientGone: () => AbortSignal,
  ) {}

  get signal(): AbortSignal {
    return (this.abortSignal ??= this.clientGone());
  }
}

/** Aborts when the client closes the connection before the answer is written. */
function clientGoneSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  if (req.socket.destroyed) controller.abort(); // gone before anyone asked
  else {
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

export function replayedAnswer(err: unknown): Answer {
  if (err instanceof ReplayedAnswer) return err.answer;
  throw err;
}

function render(answer: Answer): Reply {
  if (answer.raw) {
    return { status: answer.status, headers: answer.headers, contentType: answer.raw.contentType, body: answer.raw.bytes };
  }
  const hasBody = answer.body !== undefined && answer.status !== 204;
  return {
    status: answer.status,
    headers: answer.headers,
    contentType: hasBody ? JSON_TYPE : undefined,
    body: hasBody ? (answer.bodyJson?.() ?? JSON.stringify(answer.body)) : undefined,
  };
}

function errorReply(err: ApiError): Reply {
  return {
    status: err.status,
    headers: err.retryAfterSec !== undefined ? { 'retry-after': String(err.retryAfterSec) } : undefined,
    contentType: JSON_TYPE,
    body: JSON.stringify(errorBody(err)),
  };
}

function writeReply(ctx: Context, reply: Reply): void {
  ctx.status = reply.status;
  if (reply.headers !== undefined) for (const name of Object.keys(reply.headers)) ctx.set(name, reply.headers[name]);
  const body = reply.status === 204 || reply.status === 304 ? undefined : reply.body;
  if (body === undefined) return;
  // Set before the body, so Koa keeps it rather than guessing one.
  if (reply.contentType !== undefined) ctx.set('Content-Type', reply.contentType);
  ctx.body = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Path and query of a request target (a fragment, which clients should not send, is dropped). */
function splitUrl(url: string): { path: string; query: string } {
  const hash = url.indexOf('#');
  const target = hash < 0 ? url : url.slice(0, hash);
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** Header values as the forward frame carries them (one string per name). */
function flatHeaders(headers: Record<string, string>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) out[name.toLowerCase()] = headers[name];
  return out;
}

export class ApiApp {
  private readonly router: Router;
  /** Each route's query when the URL has none, validated once (routes do not change it). */
  private readonly emptyQuery = new Map<RouteSpec, { ok: true; value: unknown } | { ok: false }>();

  constructor(private readonly opts: AppOptions) {
    this.router = new Router(opts.routes);
    for (const spec of opts.routes) {
      const parsed = spec.query.safeParse({});
      this.emptyQuery.set(spec, parsed.success ? { ok: true, value: Object.freeze(parsed.data) } : { ok: false });
    }
  }

  /** The Koa app: one middleware, this app's dispatch. */
  koa(): Koa {
    const app = new Koa();
    // Every failure is answered by dispatch(); Koa's own printing would duplicate it.
    app.silent = true;
    app.use((ctx) => this.serveKoa(ctx));
    return app;
  }

  private async serveKoa(ctx: Context): Promise<void> {
    const { req, res } = ctx;
    const head: RequestHead = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      clientAddress: this.opts.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']),
      forwarded: false,
    };
    const exchange: Exchange = {
      readBody: (limit) => readRawBody(req, limit),
      clientGone: () => clientGoneSignal(req, res),
      // Node resets the socket's timeout once the answer is out.
      answerDeadline: (ms) => req.socket.setTimeout(ms),
    };
    const reply = await this.dispatch(head, exchange);
    try {
      writeReply(ctx, reply);
    } catch (err) {
      // A header value Node refuses (the answer is ours, so our bug): a 500, not a crash.
      this.opts.deps.logger.error({ err, method: head.method, url: head.url }, 'answer could not be written');
      writeReply(ctx, errorReply(new ApiError('internal', 'internal error')));
    }
  }

  /** Serves a request a follower relayed to this node (the leader). `signal` aborts when
   *  the follower's client went away. */
  async serveForwarded(req: ForwardedRequest, signal: AbortSignal | undefined): Promise<ForwardedResponse> {
    const head: RequestHead = { method: req.method, url: req.url, headers: flatHeaders(req.headers), clientAddress: req.clientAddress, forwarded: true };
    const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    const exchange: Exchange = {
      readBody: (limit) => Promise.resolve(checkBodySize(body, limit)),
      clientGone: () => signal ?? NEVER,
      // The follower's own connection and the Forward RPC's timeout bound the wait.
      answerDeadline: () => undefined,
    };
    const reply = await this.dispatch(head, exchange);
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.contentType !== undefined) headers['content-type'] = reply.contentType;
    const bytes = reply.body === undefined ? EMPTY : typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    return { status: reply.status, headers, body: bytes };
  }

  /** Never rejects: every failure is an error reply. */
  private async dispatch(head: RequestHead, exchange: Exchange): Promise<Reply> {
    const started = performance.now();
    const { path, query } = splitUrl(head.url);
    const match = this.router.match(head.method, path);
    let reply: Reply;
    try {
      if (match === undefined) throw new ApiError('not_found', `no route for ${head.method} ${path}`);
      reply = render(await this.serveRoute(match, head, query, exchange));
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.code === 'internal') {
        this.opts.deps.logger.error({ err, method: head.method, path }, 'request failed');
      }
      reply = errorReply(apiErr);
    }
    this.opts.deps.metrics.observeRequest(head.method, match?.spec.path, reply.status, (performance.now() - started) / 1000);
    return reply;
  }

  private query(spec: RouteSpec, queryString: string): unknown {
    if (queryString === '') {
      const known = this.emptyQuery.get(spec);
      if (known?.ok) return known.value;
    }
    return validate(spec.query, { ...parseQueryString(queryString) }, 'query');
  }

  private async serveRoute(
    match: RouteMatch,
    head: RequestHead,
    queryString: string,
    exchange: Exchange,
  ): Promise<Answer> {
    const { deps, gate } = this.opts;
    const { spec } = match;
    const forwarded = head.forwarded;
    const clientAddress = head.clientAddress;

    // The token is checked before the body is read, and a route without one reads only a
    // small body: a stranger's megabyte is refused unread (docs/SECURITY.md).
    let user = '';
    if (spec.auth) {
      const token = bearerToken(head.headers.authorization);
      user = deps.tokens.cachedUser(token) ?? (await deps.tokens.verify(token));
    }
    const hasBody = spec.method !== 'GET';
    const raw = hasBody ? await exchange.readBody(spec.auth ? MAX_REQUEST_BYTES : MAX_UNAUTHENTICATED_REQUEST_BYTES) : EMPTY;
    const params = validate(spec.params, match.params, 'params');
    const query = this.query(spec, queryString) as { consistency?: string };
    // A body relayed by a follower has the relayed shape (only a forward can carry it).
    const relayed = forwarded && spec.relayedBody !== undefined;
    const fast = hasBody && !relayed && spec.fastBody ? spec.fastBody(raw) : undefined;
    let body: unknown = fast;
    if (fast === undefined) {
      const json = hasBody ? parseJsonBody(raw) : {};
      body = !hasBody ? {} : relayed ? validate(spec.relayedBody!, json, 'body') : parseBody(spec, json);
      if (!relayed) spec.check?.(body);
    }
    // Idempotency records belong to the authenticated caller. Register and login act for
    // nobody yet, so they ignore the header: a record they kept could be read or blocked
    // by anyone who guessed another user's key.
    const idempotencyKey = spec.auth ? idempotencyKeyOf(head.headers['idempotency-key']) : undefined;

    // The answer deadline: a long poll's own wait plus a margin, so no request holds a
    // connection for ever.
    const waitMs = (body as { waitMs?: unknown }).waitMs;
    exchange.answerDeadline((typeof waitMs === 'number' ? waitMs : 0) + this.opts.answerMarginMs);

    const input = new Input(user, params, query, body, idempotencyKey, clientAddress, head.headers, exchange.clientGone);
    const appliedIndexHeader = (answer: Answer): Answer => ({
      ...answer,
      headers: { ...answer.headers, 'x-mom-applied-index': String(deps.node.status().appliedIndex) },
    });

    if (spec.kind === 'local') return spec.handle(input);
    if (spec.kind === 'read' && query.consistency === 'stale') return appliedIndexHeader(await spec.handle(input));
    return gate.run(
      {
        method: head.method,
        url: head.url,
        headers: head.headers,
        clientAddress,
        rawBody: raw,
        forwarded,
        clientGone: () => input.signal,
        ...(spec.relay ? { relayBody: async () => Buffer.from(JSON.stringify(await spec.relay!(input))) } : {}),
      },
      async () => {
        if (spec.kind !== 'read') return spec.handle(input).catch(replayedAnswer);
        await deps.node.readBarrier();
        return appliedIndexHeader(await spec.handle(input));
      },
    );
  }
}

export function buildApp(opts: AppOptions): ApiApp {
  return new ApiApp(opts);
}
