// docs/API.md, Idempotency: "a repeat of the same key by the same user returns the first answer (same
// status, same body)". The broker remembers which kind of command first used a key;
// when another kind repeats it, the answer is the first one, so its status is that of
// the route that serves the first command, not of the route asked now.
import type { CommandType } from '../broker/index.js';
import type { Answer } from './route.js';

/** The success status of the route that proposes each command (see routes/). */
export const SUCCESS_STATUS: Readonly<Record<CommandType, number>> = {
  'user.register': 201,
  'queue.create': 201,
  'queue.delete': 204,
  'queue.purge': 200,
  'queue.grant': 200,
  'queue.revoke': 204,
  'queue.send': 201,
  'queue.receive': 200,
  'queue.ack': 200,
  'queue.nack': 200,
  'queue.visibility': 200,
  'topic.create': 201,
  'topic.delete': 204,
  'topic.grant': 200,
  'topic.revoke': 204,
  'topic.publish': 201,
  'subscription.create': 201,
  'subscription.delete': 204,
  'subscription.receive': 200,
  'subscription.ack': 200,
  'subscription.nack': 200,
  'subscription.visibility': 200,
  tick: 200,
  'cluster.limits': 200,
};

/** Thrown by commit() when the answer under an Idempotency-Key is another command's;
 *  the route's own answer is skipped and this one is written as it is. */
export class ReplayedAnswer extends Error {
  readonly answer: Answer;

  constructor(firstCommand: CommandType, value: unknown) {
    super(`Idempotency-Key first used by ${firstCommand}: its answer is replayed`);
    this.name = 'ReplayedAnswer';
    const status = SUCCESS_STATUS[firstCommand];
    this.answer = status === 204 ? { status } : { status, body: value };
  }
}
