// The client's typed failures. A caller tells three cases apart: the broker answered
// with an error (MomApiError: docs/API.md's code, status and details), the broker could not
// be reached or its answer was lost (MomConnectionError: `maybeApplied` says whether a
// write may have happened anyway), or the caller gave up (the AbortSignal's reason).
import type { ApiErrorCode } from '../api/errors.js';

/** docs/API.md's error codes, plus `insufficient_storage` (507) and any code a newer broker adds. */
export type MomErrorCode = ApiErrorCode | 'quota_exceeded' | 'insufficient_storage' | (string & {});

export class MomApiError extends Error {
  override readonly name: string = 'MomApiError';
  constructor(
    readonly status: number,
    readonly code: MomErrorCode,
    message: string,
    readonly details?: unknown,
    /** From Retry-After on 429 and 503. */
    readonly retryAfterMs?: number,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

export class MomConnectionError extends Error {
  override readonly name = 'MomConnectionError';
  constructor(
    /** The socket or undici error code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, ...). */
    readonly code: string,
    /** The origin that failed. */
    readonly origin: string,
    /** False only when the request certainly never reached the broker (refused connection). */
    readonly maybeApplied: boolean,
    options?: { cause?: unknown },
  ) {
    super(`${origin}: ${code}`, options);
  }

  get timedOut(): boolean {
    return this.code.endsWith('TIMEOUT');
  }
}

/** The request gave up after its retries; `cause` is the last failure. */
export class MomRetriesExhaustedError extends Error {
  override readonly name = 'MomRetriesExhaustedError';
  constructor(readonly attempts: number, readonly last: MomApiError | MomConnectionError) {
    super(`gave up after ${attempts} attempts: ${last.message}`, { cause: last });
  }
}

/** The code of an error, walking `cause` chains; a refused connection anywhere wins. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown };
  if (typeof e.code === 'string') {
    const inner = errorCode(e.cause);
    return inner === 'ECONNREFUSED' ? inner : e.code;
  }
  if (e.cause !== undefined) return errorCode(e.cause);
  return typeof e.name === 'string' ? e.name : undefined;
}

/** The signal's reason as an Error (what a call rejects with when it is aborted). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/** The `{error: {code, message, details}}` body of docs/API.md, or undefined. */
export function errorBody(body: unknown): { code: string; message: string; details?: unknown } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const e = body.error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message, details } = e as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string') return undefined;
  return { code, message: typeof message === 'string' ? message : code, ...(details !== undefined && { details }) };
}
