// The CLI's exit codes (documented in `mom --help` and docs/CLIENT.md), and the one
// place where an error becomes a code and a message.
import { MomApiError, MomConnectionError, MomRetriesExhaustedError } from '../client/errors.js';

export const EXIT = {
  ok: 0,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  usage: 1,
  /** The broker answered with an error; its code is printed (e.g. not_found). */
  api: 2,
  /** No node could be reached, or the answers were lost, after the retries. */
  connection: 3,
  /** Not logged in (no token in the config file, MOM_TOKEN or --token). */
  auth: 4,
  /** Interrupted (Ctrl-C) before the command finished. */
  interrupted: 130,
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class NotLoggedInError extends Error {
  override readonly name = 'NotLoggedInError';
}

export interface Failure {
  code: number;
  message: string;
  /** For --json: the error object printed on stdout. */
  json: { error: { code: string; message: string; status?: number; details?: unknown } };
}

export function failure(err: unknown): Failure {
  const last = err instanceof MomRetriesExhaustedError ? err.last : err;
  if (last instanceof MomApiError) {
    const hint = last.code === 'unauthorized' ? ' (log in again: mom login USER)' : '';
    return {
      code: EXIT.api,
      message: `error: ${last.code} (HTTP ${last.status}): ${last.message.replace(/^\d+ \S+: /, '')}${hint}`,
      json: { error: { code: last.code, message: last.message, status: last.status, ...(last.details !== undefined && { details: last.details }) } },
    };
  }
  if (last instanceof MomConnectionError) {
    const what = err instanceof MomRetriesExhaustedError ? `${err.attempts} attempts, last: ` : '';
    return { code: EXIT.connection, message: `error: connection failed (${what}${last.origin} ${last.code})`, json: { error: { code: 'connection_failed', message: last.message } } };
  }
  if (err instanceof UsageError) return { code: EXIT.usage, message: `usage error: ${err.message}`, json: { error: { code: 'usage', message: err.message } } };
  if (err instanceof NotLoggedInError) return { code: EXIT.auth, message: `error: ${err.message}`, json: { error: { code: 'not_logged_in', message: err.message } } };
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT.connection, message: `error: ${message}`, json: { error: { code: 'failed', message } } };
}
