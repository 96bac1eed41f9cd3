// How often and how long a request is retried: full-jitter exponential backoff, bounded
// by a number of attempts and by a deadline (an election normally settles in 1-2 s).

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** No new attempt starts this long after the first. */
  deadlineMs: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 20, deadlineMs: 30_000, baseMs: 50, maxMs: 1000 };

/** The pause before attempt `attempt + 1`. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return cap / 2 + Math.random() * (cap / 2);
}
