// One route of docs/API.md as data: its method and path, who may call it, where it runs
// (locally, as a linearizable read, or as a write through the leader), the zod schemas
// of its params, query and body, and its handler. The app and GET /openapi.json are
// both built from the same list.
import { z } from 'zod';
import { EmptyBody, ReadQuery, WriteQuery } from './schemas.js';

/**
 * - local: served by whichever node is asked (health, cluster status, docs).
 * - read: a GET served after a ReadIndex barrier on the leader, or from local state with
 *   `?consistency=stale`.
 * - write: goes through the Raft leader (every POST/PUT/DELETE).
 */
export type RouteKind = 'local' | 'read' | 'write';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteInput<P, Q, B> {
  /** The authenticated username (routes with `auth`). */
  user: string;
  params: P;
  query: Q;
  body: B;
  /** The Idempotency-Key header, checked. */
  idempotencyKey: string | undefined;
  /** The original client's address (across a forward too). */
  clientAddress: string;
  /** Aborted when the client goes away (ends long polls early). */
  signal: AbortSignal;
  /** The request's headers, lower-case names (for the routes that read one). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface Answer {
  status: number;
  /** JSON body; none for 204. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The body's JSON text, for a body a route writes faster than JSON.stringify does
   *  (the same text); only what writes the HTTP answer calls it. */
  bodyJson?: () => string;
  /** A body to send as is (forwarded answers, Prometheus text). */
  raw?: { contentType: string; bytes: Uint8Array | string };
}

/** What a route is, apart from its schemas and handler (the docs read these too). */
interface RouteHead {
  method: HttpMethod;
  /** Koa-router path, `:name` params. */
  path: string;
  operationId: string;
  summary: string;
  auth: boolean;
  kind: RouteKind;
  /** The statuses this route answers on success (for the docs). */
  success: number;
  /** What the success answer holds, when the docs should say more than its status text. */
  successDescription?: string;
  /** Request headers the route reads beyond Authorization and Idempotency-Key (for the docs). */
  headers?: readonly HeaderDoc[];
}

/** A request header as GET /openapi.json describes it. */
export interface HeaderDoc {
  name: string;
  description: string;
  pattern?: RegExp;
}

export interface RouteSpec extends RouteHead {
  params: z.ZodType;
  query: z.ZodType;
  /** What the body must look like, for validation and the docs. */
  body: z.ZodType;
  /** Parses the JSON body when `body.parse` would give poor errors (unions). */
  parseBody?: (json: unknown) => unknown;
  /** Reads the usual body straight from the request's bytes, without JSON.parse; undefined
   *  sends it the JSON way. What it returns passed every check `body`, `parseBody` and
   *  `check` would make. */
  fastBody?: (raw: Buffer) => unknown;
  /** Checks beyond the schema (sizes that are 413 rather than 400). */
  check?: (body: unknown) => void;
  /** Forward mode: the body a follower relays to the leader instead of the client's
   *  (register sends the password's hash, so the plaintext stops where it arrived). */
  relay?: (input: RouteInput<unknown, unknown, unknown>) => Promise<unknown>;
  /** The schema of a body that arrives relayed by a follower (with `relay`). */
  relayedBody?: z.ZodType;
  handle(input: RouteInput<unknown, unknown, unknown>): Promise<Answer>;
}

interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType, F> extends RouteHead {
  params?: P;
  query?: Q;
  body?: B;
  parseBody?: (json: unknown) => z.output<B>;
  fastBody?: (raw: Buffer) => F | undefined;
  check?: (body: z.output<B>) => void;
  relay?: (input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.output<R>>;
  relayedBody?: R;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B> | z.output<R> | F>): Promise<Answer>;
}

const NoParams = z.strictObject({});

/** Typed definition of a route; schemas left out default to "nothing accepted". */
export function defineRoute<
  P extends z.ZodType = typeof NoParams,
  Q extends z.ZodType = typeof WriteQuery,
  B extends z.ZodType = typeof EmptyBody,
  R extends z.ZodType = B,
  F = never,
>(def: RouteDef<P, Q, B, R, F>): RouteSpec {
  return {
    ...def,
    params: def.params ?? NoParams,
    query: def.query ?? (def.kind === 'read' ? ReadQuery : WriteQuery),
    body: def.body ?? EmptyBody,
    check: def.check as RouteSpec['check'],
    relay: def.relay as RouteSpec['relay'],
    handle: def.handle,
  };
}
