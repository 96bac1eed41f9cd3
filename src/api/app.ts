// The Koa app: every route of the table runs the same pipeline — authenticate, read and
// validate the request, then serve it here or through the leader — and every failure
// becomes docs/API.md's error body (Errors) in errors.ts.
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { ZodError, type z } from 'zod';
import { IDEMPOTENCY_KEY_PATTERN } from '../broker/index.js';
import { bearerToken } from './auth/tokens.js';
import { MAX_REQUEST_BYTES, MAX_UNAUTHENTICATED_REQUEST_BYTES, parseJsonBody, readRawBody } from './body.js';
import type { ApiDeps } from './deps.js';
import { ApiError, errorMiddleware, fromZodError, validationFailed, type FieldIssue } from './errors.js';
import { FORWARD_CLIENT_HEADER, FORWARD_SECRET_HEADER, type LeaderGate } from './leader.js';
import { ReplayedAnswer } from './replay.js';
import type { Answer, RouteSpec } from './route.js';

const EMPTY = new Uint8Array(0);

export interface AppOptions {
  deps: ApiDeps;
  gate: LeaderGate;
  routes: RouteSpec[];
  /** Whether a request carries this process's forward secret (see forward/handler.ts). */
  isForwarded: (secretHeader: string | undefined) => boolean;
  /** The client's real address from the TCP peer and X-Forwarded-For (client-address.ts). */
  clientAddress: (peer: string | undefined, forwardedFor: string | string[] | undefined) => string;
  /** An answer may take the request's waitMs plus this long; then the connection is cut. */
  answerMarginMs: number;
}

function validate<T extends z.ZodType>(schema: T, value: unknown, where: FieldIssue['in']): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error, where);
  return parsed.data;
}

function parseBody(spec: RouteSpec, json: unknown): unknown {
  if (!spec.parseBody) return validate(spec.body, json, 'body');
  try {
    return spec.parseBody(json);
  } catch (err) {
    if (err instanceof ZodError) throw fromZodError(err, 'body');
    throw err;
  }
}

function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header === 'string' && IDEMPOTENCY_KEY_PATTERN.test(header)) return header;
  throw validationFailed([{ in: 'header', path: 'Idempotency-Key', message: 'must be 1..128 printable ASCII characters' }]);
}

/** Aborts when the client closes the connection before the answer is written. Made
 *  only for the routes that read it (long polls): an AbortController per request was a
 *  measurable share of the leader's CPU under load. */
function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  if (ctx.req.socket.destroyed) controller.abort(); // gone before anyone asked
  else {
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

function withLazySignal<T extends object>(input: T, ctx: Context): T & { readonly signal: AbortSignal } {
  let signal: AbortSignal | undefined;
  return Object.defineProperty(input, 'signal', { get: () => (signal ??= clientGone(ctx)), enumerable: true }) as T & { readonly signal: AbortSignal };
}

function replayedAnswer(err: unknown): Answer {
  if (err instanceof ReplayedAnswer) return err.answer;
  throw err;
}

function writeAnswer(ctx: Context, answer: Answer): void {
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
  if (answer.raw) {
    ctx.type = answer.raw.contentType;
    ctx.body = typeof answer.raw.bytes === 'string' ? answer.raw.bytes : Buffer.from(answer.raw.bytes);
  } else if (answer.body !== undefined && answer.status !== 204) {
    ctx.body = answer.body;
  }
}

async function serveRoute(spec: RouteSpec, opts: AppOptions, ctx: Context): Promise<void> {
  const { deps, gate } = opts;
  const forwarded = opts.isForwarded(ctx.get(FORWARD_SECRET_HEADER) || undefined);
  const clientAddress = forwarded
    ? ctx.get(FORWARD_CLIENT_HEADER) || 'unknown'
    : opts.clientAddress(ctx.req.socket.remoteAddress, ctx.headers['x-forwarded-for']);

  // The token is checked before the body is read, and a route without one reads only a
  // small body: a stranger's megabyte is refused unread (docs/SECURITY.md).
  const user = spec.auth ? await deps.tokens.verify(bearerToken(ctx.get('authorization') || undefined)) : '';
  const hasBody = spec.method !== 'GET';
  const raw = hasBody ? await readRawBody(ctx.req, spec.auth ? MAX_REQUEST_BYTES : MAX_UNAUTHENTICATED_REQUEST_BYTES) : EMPTY;
  const params = validate(spec.params, ctx.params ?? {}, 'params');
  const query = validate(spec.query, { ...ctx.query }, 'query') as { consistency?: string };
  const json = hasBody ? parseJsonBody(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) : {};
  // A body relayed by a follower has the relayed shape (only a forward can carry it).
  const body = !hasBody ? {} : forwarded && spec.relayedBody ? validate(spec.relayedBody, json, 'body') : parseBody(spec, json);
  if (!(forwarded && spec.relayedBody)) spec.check?.(body);
  // Idempotency records belong to the authenticated caller. Register and login act for
  // nobody yet, so they ignore the header: a record they kept could be read or blocked
  // by anyone who guessed another user's key.
  const idempotencyKey = spec.auth ? idempotencyKeyOf(ctx.headers['idempotency-key']) : undefined;

  // The answer deadline: a long poll's own wait plus a margin, so no request holds a
  // connection for ever. Node resets the socket's timeout once the answer is out.
  const waitMs = (body as { waitMs?: unknown }).waitMs;
  ctx.req.socket.setTimeout((typeof waitMs === 'number' ? waitMs : 0) + opts.answerMarginMs);

  const input = withLazySignal({ user, params, query, body, idempotencyKey, clientAddress, headers: ctx.headers }, ctx);
  const appliedIndexHeader = (answer: Answer): Answer => ({
    ...answer,
    headers: { ...answer.headers, 'x-mom-applied-index': String(deps.node.status().appliedIndex) },
  });

  let answer: Answer;
  if (spec.kind === 'local') {
    answer = await spec.handle(input);
  } else if (spec.kind === 'read' && query.consistency === 'stale') {
    answer = appliedIndexHeader(await spec.handle(input));
  } else {
    answer = await gate.run(
      {
        method: ctx.method,
        url: ctx.originalUrl,
        headers: ctx.headers,
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
  writeAnswer(ctx, answer);
}

/** Records every request's duration under its route template (not the raw path, which
 *  would make one time series per queue name). */
function durationMiddleware(deps: ApiDeps) {
  return async function timeRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
      deps.metrics.httpDuration.observe(
        { method: ctx.method, route: typeof route === 'string' ? route : 'unmatched', status: String(ctx.status) },
        (performance.now() - started) / 1000,
      );
    }
  };
}

async function notFound(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body === undefined && ctx.status === 404) {
    throw new ApiError('not_found', `no route for ${ctx.method} ${ctx.path}`);
  }
}

export function buildApp(opts: AppOptions): Koa {
  const app = new Koa();
  // Errors are answered by errorMiddleware; Koa's own printing would duplicate them.
  app.silent = true;
  const router = new Router();
  for (const spec of opts.routes) {
    router.register(spec.path, [spec.method], (ctx: Context) => serveRoute(spec, opts, ctx));
  }
  app.use(durationMiddleware(opts.deps));
  app.use(errorMiddleware(opts.deps.logger));
  app.use(notFound);
  app.use(router.routes());
  return app;
}
