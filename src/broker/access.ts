import { BrokerError } from './errors.js';
import type { Queue } from './queue.js';
import type { DeadLetterRef } from './runtime.js';
import type { BrokerState } from './state.js';
import { PERM_SUBSCRIBE, type Subscription, type Topic } from './topic.js';

/** Authorization lives here, inside the replicated state machine: whatever node or
 *  forwarded request proposed a command, the same rules decide on every replica. */

export function requireUser(s: BrokerState, user: string): void {
  if (!s.users.has(user)) throw new BrokerError('forbidden', `unknown user '${user}'`);
}

export function findQueue(s: BrokerState, name: string): Queue {
  const q = s.queues.get(name);
  if (q === undefined) throw new BrokerError('not_found', `queue '${name}' not found`);
  return q;
}

export function requireQueueOwner(q: Queue, user: string): void {
  if (q.owner !== user) throw new BrokerError('forbidden', `only the owner of queue '${q.name}' may do this`);
}

export function queueAllows(q: Queue, user: string, perm: number): boolean {
  return q.owner === user || ((q.grants.get(user) ?? 0) & perm) !== 0;
}

export function requireQueuePerm(q: Queue, user: string, perm: number, what: string): void {
  if (!queueAllows(q, user, perm)) throw new BrokerError('forbidden', `no ${what} permission on queue '${q.name}'`);
}

export function canSeeQueue(q: Queue, user: string): boolean {
  return q.owner === user || (q.grants.get(user) ?? 0) !== 0;
}

export function findTopic(s: BrokerState, name: string): Topic {
  const t = s.topics.get(name);
  if (t === undefined) throw new BrokerError('not_found', `topic '${name}' not found`);
  return t;
}

export function requireTopicOwner(t: Topic, user: string): void {
  if (t.owner !== user) throw new BrokerError('forbidden', `only the owner of topic '${t.name}' may do this`);
}

export function topicAllows(t: Topic, user: string, perm: number): boolean {
  if (t.owner === user || ((t.grants.get(user) ?? 0) & perm) !== 0) return true;
  return perm === PERM_SUBSCRIBE && t.cfg.public;
}

export function canSeeTopic(t: Topic, user: string): boolean {
  return t.owner === user || t.cfg.public || (t.grants.get(user) ?? 0) !== 0;
}

/** A subscription is used only by its owner, who must still be allowed to subscribe:
 *  revoking `subscribe` stops delivery to existing subscriptions too. */
export function findOwnSubscription(t: Topic, name: string, user: string, needSubscribe: boolean): Subscription {
  const sub = t.subscriptions.get(name);
  if (sub === undefined) throw new BrokerError('not_found', `subscription '${name}' not found on topic '${t.name}'`);
  if (sub.cfg.owner !== user) throw new BrokerError('forbidden', `subscription '${name}' belongs to another user`);
  if (needSubscribe && !topicAllows(t, user, PERM_SUBSCRIBE)) {
    throw new BrokerError('forbidden', `no subscribe permission on topic '${t.name}'`);
  }
  return sub;
}

/**
 * A dead-letter queue must already exist, be owned by the same user, and come with a
 * receive limit (without one nothing would ever be dead-lettered). Without a
 * dead-letter queue, a limit alone drops the message once it is exceeded.
 */
export function resolveDeadLetter(
  s: BrokerState, user: string, name: string | undefined, limit: number | undefined, limitField: string,
): DeadLetterRef | null {
  if (name === undefined) return null;
  if (limit === undefined) {
    throw new BrokerError('validation_failed', `deadLetterQueue needs ${limitField}`, [
      { path: limitField, message: `required when deadLetterQueue is set` },
    ]);
  }
  const q = s.queues.get(name);
  if (q === undefined) {
    throw new BrokerError('validation_failed', `dead-letter queue '${name}' does not exist`, [
      { path: 'deadLetterQueue', message: 'no such queue' },
    ]);
  }
  if (q.owner !== user) throw new BrokerError('forbidden', `dead-letter queue '${name}' belongs to another user`);
  return { name: q.name, uid: q.uid };
}
