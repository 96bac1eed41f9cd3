import {
  canSeeTopic, findOwnSubscription, findTopic, requireTopicOwner, requireUser, resolveDeadLetter, topicAllows,
} from './access.js';
import type { PublishMeta } from './applied-command.js';
import { DEFAULT_TOPIC_RETENTION_MS, DEFAULT_VISIBILITY_TIMEOUT_MS, type CommandOf } from './commands.js';
import { BrokerError } from './errors.js';
import { checkLimit } from './quotas.js';
import { iso } from './message.js';
import { batchBytes, checkBatch, setGrant } from './queue-commands.js';
import { UnansweredReceive } from './received.js';
import type { SentView, SubscriptionView, TopicView } from './results.js';
import type { MessageMeta } from './send-codec.js';
import type { BrokerState } from './state.js';
import { PERM_PUBLISH, PERM_SUBSCRIBE, Subscription, Topic } from './topic.js';
import { subscriptionView, topicPermissions, topicView } from './views.js';

export function createTopic(s: BrokerState, c: CommandOf<'topic.create'>): TopicView {
  requireUser(s, c.user);
  if (s.topics.has(c.name)) throw new BrokerError('conflict', `topic '${c.name}' already exists`);
  const usage = s.usage.of(c.user);
  checkLimit(s.limits, 'topicsPerUser', usage.topics, 1, `user '${c.user}' owns ${usage.topics} topics`);
  usage.topics++;
  const t = new Topic(s.rt, {
    ...s.newIdentity(c.name, c.user),
    public: c.public ?? false,
    retentionMs: c.retentionMs ?? DEFAULT_TOPIC_RETENTION_MS,
  }, usage);
  s.topics.set(t.name, t);
  return topicView(t);
}

/** Its subscriptions go with it; their receipts become unknown. */
export function deleteTopic(s: BrokerState, c: CommandOf<'topic.delete'>): null {
  const t = findTopic(s, c.topic);
  requireTopicOwner(t, c.user);
  for (const sub of t.subscriptions.values()) {
    sub.discard();
    s.usage.of(sub.cfg.owner).subscriptions--;
  }
  t.subscriptions.clear();
  t.release();
  const usage = s.usage.of(t.owner);
  usage.topics--;
  usage.grants -= t.grants.size;
  s.topics.delete(t.name);
  return null;
}

export function grantTopic(
  s: BrokerState, c: CommandOf<'topic.grant'>,
): { username: string; permissions: ('publish' | 'subscribe')[] } {
  const t = findTopic(s, c.topic);
  requireTopicOwner(t, c.user);
  if (!s.users.has(c.username)) throw new BrokerError('not_found', `user '${c.username}' not found`);
  let bits = 0;
  for (const p of c.permissions) bits |= p === 'publish' ? PERM_PUBLISH : PERM_SUBSCRIBE;
  setGrant(s, t.owner, t.grants, c.username, bits);
  return { username: c.username, permissions: topicPermissions(bits) };
}

export function revokeTopic(s: BrokerState, c: CommandOf<'topic.revoke'>): null {
  const t = findTopic(s, c.topic);
  requireTopicOwner(t, c.user);
  setGrant(s, t.owner, t.grants, c.username, 0);
  return null;
}

export function publish(
  s: BrokerState, c: PublishMeta, index: number,
): SentView | { messages: SentView[] } {
  const sent = publishMessages(s, c, index);
  return c.batch ? { messages: sent } : sent[0];
}

/** A publish's messages, each answered; `positions` as in Topic.publish. */
export function publishMessages(s: BrokerState, c: PublishMeta, index: number, positions?: readonly number[]): SentView[] {
  const t = findTopic(s, c.topic);
  if (!topicAllows(t, c.user, PERM_PUBLISH)) throw new BrokerError('forbidden', `no publish permission on topic '${t.name}'`);
  checkBatch(c.messages, c.batch);
  t.trim();
  checkTopicRoom(s, t, c.messages);
  return t.publish(c.messages, index, positions);
}

export function createSubscription(s: BrokerState, c: CommandOf<'subscription.create'>): SubscriptionView {
  requireUser(s, c.user);
  const t = findTopic(s, c.topic);
  if (!topicAllows(t, c.user, PERM_SUBSCRIBE)) {
    throw new BrokerError('forbidden', `no subscribe permission on topic '${t.name}'`);
  }
  if (t.subscriptions.has(c.name)) {
    throw new BrokerError('conflict', `subscription '${c.name}' already exists on topic '${t.name}'`);
  }
  const deadLetter = resolveDeadLetter(s, c.user, c.deadLetterQueue, c.maxDeliveries, 'maxDeliveries');
  const usage = s.usage.of(c.user);
  checkLimit(s.limits, 'subscriptionsPerUser', usage.subscriptions, 1, `user '${c.user}' owns ${usage.subscriptions} subscriptions`);
  usage.subscriptions++;
  const sub = new Subscription(s.rt, t, {
    ...s.newIdentity(c.name, c.user),
    ackTimeoutMs: c.ackTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
    maxDeliveries: c.maxDeliveries ?? null,
    deadLetter,
  });
  t.subscriptions.set(sub.name, sub);
  return subscriptionView(sub);
}

export function deleteSubscription(s: BrokerState, c: CommandOf<'subscription.delete'>): null {
  const t = findTopic(s, c.topic);
  const sub = findOwnSubscription(t, c.subscription, c.user, false);
  sub.discard();
  s.usage.of(sub.cfg.owner).subscriptions--;
  t.subscriptions.delete(sub.name);
  t.trim();
  return null;
}

export function receiveFromSubscription(
  s: BrokerState, c: CommandOf<'subscription.receive'>, index: number,
): UnansweredReceive {
  const t = findTopic(s, c.topic);
  const sub = findOwnSubscription(t, c.subscription, c.user, true);
  const messages = sub.receive(c.max ?? 1, c.visibilityTimeoutMs ?? sub.leaseMs, index);
  t.trim();
  return new UnansweredReceive(messages);
}

export function ackSubscription(s: BrokerState, c: CommandOf<'subscription.ack'>): { acked: number; unknown: string[] } {
  const t = findTopic(s, c.topic);
  return findOwnSubscription(t, c.subscription, c.user, true).ack(c.receiptHandles);
}

export function nackSubscription(
  s: BrokerState, c: CommandOf<'subscription.nack'>,
): { released: number; unknown: string[] } {
  const t = findTopic(s, c.topic);
  return findOwnSubscription(t, c.subscription, c.user, true).nack(c.receiptHandles, c.delayMs ?? 0);
}

export function subscriptionVisibility(
  s: BrokerState, c: CommandOf<'subscription.visibility'>,
): { visibleAt: string } {
  const t = findTopic(s, c.topic);
  const at = findOwnSubscription(t, c.subscription, c.user, true).extend(c.receiptHandle, c.visibilityTimeoutMs);
  if (at === undefined) throw new BrokerError('not_found', 'receipt handle unknown or stale');
  return { visibleAt: iso(at) };
}

/** Subscriptions the caller owns on a topic; seeing the list needs access to the topic
 *  or at least one own subscription on it. */
export function listOwnSubscriptions(s: BrokerState, user: string, topic: string): SubscriptionView[] {
  const t = findTopic(s, topic);
  const own = [...t.subscriptions.values()].filter((sub) => sub.cfg.owner === user);
  if (own.length === 0 && !canSeeTopic(t, user)) {
    throw new BrokerError('forbidden', `no access to topic '${t.name}'`);
  }
  return own.map(subscriptionView);
}

/** A topic keeps what it publishes while it has subscriptions: its log counts against
 *  the per-queue limits and its owner's queued bytes, checked for the whole batch. */
function checkTopicRoom(s: BrokerState, t: Topic, messages: readonly MessageMeta[]): void {
  if (t.subscriptions.size === 0) return;
  const bytes = batchBytes(messages);
  checkLimit(s.limits, 'messagesPerQueue', t.log.length, messages.length, `topic '${t.name}' retains ${t.log.length} messages`);
  checkLimit(s.limits, 'queuedBytesPerQueue', t.bytes, bytes, `topic '${t.name}' retains ${t.bytes} bytes`);
  const usage = s.usage.of(t.owner);
  checkLimit(s.limits, 'queuedBytesPerUser', usage.queuedBytes, bytes, `the queues and topics of user '${t.owner}' hold ${usage.queuedBytes} bytes`);
}
