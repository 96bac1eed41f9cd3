// The one place where anything that can go wrong becomes docs/API.md's error table (Errors):
// {"error": {"code", "message", "details"}} with its status and, for 429/503, Retry-After.
import type { Context, Next } from 'koa';
import { ZodError } from 'zod';
import type { Logger } from 'pino';
import {
  ForwardError,
  NoLeaderError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalOutcomeUnknownError,
  StorageFailedError,
} from '../node/errors.js';

export type ApiErrorCode =
  | 'validation_failed'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'no_leader'
  | 'internal';

export const STATUS_OF: Record<ApiErrorCode, number> = {
  validation_failed: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  /** A per-user limit (docs/SECURITY.md, Per-user limits); `details` names it and its value. */
  quota_exceeded: 403,
  rate_limited: 429,
  no_leader: 503,
  internal: 500,
};

/** Seconds a client should wait before retrying when no leader is known: an election
 *  normally settles within 1-2 s. */
export const NO_LEADER_RETRY_AFTER_SEC = 1;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
    /** Sent as Retry-After (seconds) on 429 and 503. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS_OF[this.code];
  }
}

/** One invalid field, as `details` of a validation_failed error lists them. */
export interface FieldIssue {
  in: 'body' | 'query' | 'params' | 'header';
  path: string;
  message: string;
}

export function validationFailed(issues: FieldIssue[]): ApiError {
  const where = issues.map((i) => (i.path ? `${i.in}.${i.path}` : i.in)).join(', ');
  return new ApiError('validation_failed', `invalid request: ${where}`, issues);
}

export function fromZodError(err: ZodError, where: FieldIssue['in']): ApiError {
  return validationFailed(
    err.issues.map((issue) => ({
      in: where,
      path: issue.path.map(String).join('.'),
      message: issue.message,
    })),
  );
}

const BROKER_CODES = new Set<string>([
  'validation_failed', 'not_found', 'forbidden', 'conflict', 'payload_too_large', 'quota_exceeded',
]);

/** A broker CommandResult error ({code, message, details?}) as an ApiError. */
export function fromBrokerError(error: { code: string; message: string; details?: unknown }): ApiError {
  if (BROKER_CODES.has(error.code)) return new ApiError(error.code as ApiErrorCode, error.message, error.details);
  if (error.code === 'unauthorized') return new ApiError('unauthorized', error.message, error.details);
  // An unknown code from the state machine is our bug, not the client's.
  return new ApiError('internal', 'internal error');
}

/**
 * Node (Raft driver) errors. NotLeader is normally turned into a redirect or forward
 * before it gets here (leader.ts); what is left reaches the client as below.
 */
export function fromNodeError(err: Error): ApiError | undefined {
  if (err instanceof NotLeaderError || err instanceof NoLeaderError) {
    return new ApiError('no_leader', 'no leader is known right now; retry shortly', undefined, NO_LEADER_RETRY_AFTER_SEC);
  }
  if (err instanceof ProposalOutcomeUnknownError || err instanceof ForwardError) {
    return new ApiError(
      'no_leader',
      'leadership changed before the write was confirmed; it may or may not have been applied. ' +
        'Retry with the same Idempotency-Key for an exactly-once effect',
      { outcome: 'unknown' },
      NO_LEADER_RETRY_AFTER_SEC,
    );
  }
  if (err instanceof NodeStoppedError) {
    return new ApiError('no_leader', 'this node is shutting down; retry on another node', undefined, NO_LEADER_RETRY_AFTER_SEC);
  }
  if (err instanceof StorageFailedError) {
    return new ApiError(
      'no_leader',
      'this node cannot persist writes (storage failure); retry on another node',
      { reason: 'storage_failed' },
      NO_LEADER_RETRY_AFTER_SEC,
    );
  }
  if (err instanceof OverloadedError) {
    return new ApiError('rate_limited', 'too many pending writes on the leader; retry shortly', undefined, 1);
  }
  return undefined;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ZodError) return fromZodError(err, 'body');
  if (err instanceof Error) {
    const mapped = fromNodeError(err);
    if (mapped) return mapped;
  }
  return new ApiError('internal', 'internal error');
}

export function errorBody(err: ApiError): { error: { code: string; message: string; details: unknown } } {
  return { error: { code: err.code, message: err.message, details: err.details ?? null } };
}

/** Writes an ApiError onto the Koa response. */
export function sendError(ctx: Context, err: ApiError): void {
  ctx.status = err.status;
  ctx.body = errorBody(err);
  if (err.retryAfterSec !== undefined) ctx.set('Retry-After', String(err.retryAfterSec));
}

/** Outermost middleware: whatever escapes a route becomes an error body; stacks only go
 *  to the log, never to the client. */
export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.code === 'internal') {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      }
      sendError(ctx, apiErr);
    }
  };
}
