import { ExpiringMap } from './expiring-map.js';
import type { Queue } from './queue.js';
import type { CommandResult } from './results.js';
import { Runtime } from './runtime.js';
import type { Topic } from './topic.js';

/** docs/API.md, Idempotency: an Idempotency-Key is honoured for ten minutes of replicated time. */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60_000;

/** Everything the log builds; what a snapshot holds. */
export class BrokerState {
  readonly rt = new Runtime();
  /** username -> salted slow hash (computed before proposing). */
  readonly users = new Map<string, string>();
  readonly queues = new Map<string, Queue>();
  readonly topics = new Map<string, Topic>();
  /** `${user}\n${key}` -> the first result. */
  readonly idempotency = new ExpiringMap<CommandResult>(IDEMPOTENCY_WINDOW_MS);
  /** Identity of queues, topics and subscriptions, so a recreated name is a new thing. */
  nextUid = 1;
  lastIndex = 0;

  constructor() {
    this.rt.moveToDeadLetter = (ref, msg) => {
      const q = this.queues.get(ref.name);
      // The dead-letter queue was deleted (or replaced): the message is dropped, as SQS does.
      if (q !== undefined && q.uid === ref.uid) q.enqueueDeadLetter(msg);
    };
  }
}
