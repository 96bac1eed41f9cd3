// Receive with long polling: propose a receive; if it comes back empty and the client
// asked to wait, wait for the broker's "messages ready" event for that queue or
// subscription (no sleep loop), then propose again, until waitMs has passed.
import type { ReceivedView } from '../broker/index.js';
import { NoLeaderError, NodeStoppedError, NotLeaderError, ProposalOutcomeUnknownError } from '../node/errors.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';

export interface ReceiveLoop {
  /** `queue:<name>` or `sub:<topic>/<subscription>`, as the broker names it. */
  target: string;
  max: number;
  waitMs: number;
  /** Aborts when the client goes away. Asked for only when the receive has to wait: a
   *  receive answered at once makes no AbortController (app.ts, Input). */
  clientGone(): AbortSignal;
  /** Proposes one receive command and returns what it leased. `attempt` counts from 0. */
  propose(attempt: number): Promise<{ messages: ReceivedView[] }>;
}

/** Errors that mean "this node can no longer propose": after a first successful
 *  (empty) receive, a long poll that hits one simply ends empty. */
function endsLongPoll(err: unknown): boolean {
  if (err instanceof ApiError) return err.code === 'no_leader';
  return (
    err instanceof NotLeaderError ||
    err instanceof NoLeaderError ||
    err instanceof ProposalOutcomeUnknownError ||
    err instanceof NodeStoppedError
  );
}

export async function receiveWithWait(deps: ApiDeps, loop: ReceiveLoop): Promise<{ messages: ReceivedView[] }> {
  const deadline = performance.now() + loop.waitMs;
  let front = false;
  for (let attempt = 0; ; attempt++) {
    const sinceVersion = deps.waiters.version(loop.target);
    let answer: { messages: ReceivedView[] };
    try {
      answer = await loop.propose(attempt);
    } catch (err) {
      if (attempt > 0 && endsLongPoll(err)) return { messages: [] };
      throw err;
    }
    if (answer.messages.length > 0) {
      // A full batch suggests more are ready: let the next waiter in line try.
      if (answer.messages.length >= loop.max) deps.waiters.passOn(loop.target);
      return answer;
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) return answer;
    const signal = loop.clientGone();
    if (signal.aborted) return answer;
    const outcome = await deps.waiters.wait({
      target: loop.target,
      max: loop.max,
      sinceVersion,
      timeoutMs: Math.ceil(remaining),
      signal,
      front,
    });
    if (outcome !== 'ready') return { messages: [] };
    // Woken but it may lose the race to another receiver: then it keeps its place.
    front = true;
  }
}
