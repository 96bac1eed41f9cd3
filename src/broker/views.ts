import { iso } from './message.js';
import { PERM_RECEIVE, PERM_SEND, type Queue } from './queue.js';
import type { QueueView, SubscriptionView, TopicView } from './results.js';
import { PERM_PUBLISH, PERM_SUBSCRIBE, type Subscription, type Topic } from './topic.js';

export function queueView(q: Queue): QueueView {
  return {
    name: q.name,
    owner: q.owner,
    createdAt: iso(q.createdAt),
    visibilityTimeoutMs: q.leaseMs,
    maxReceives: q.maxReceives,
    deadLetterQueue: q.deadLetter?.name ?? null,
    retentionMs: q.retentionMs,
    stats: q.stats(),
  };
}

export function topicView(t: Topic): TopicView {
  return {
    name: t.name,
    owner: t.owner,
    createdAt: iso(t.cfg.createdAt),
    public: t.cfg.public,
    retentionMs: t.cfg.retentionMs,
    stats: { subscriptions: t.subscriptions.size, retained: t.log.length },
  };
}

export function subscriptionView(s: Subscription): SubscriptionView {
  return {
    name: s.name,
    topic: s.topic.name,
    owner: s.cfg.owner,
    createdAt: iso(s.cfg.createdAt),
    ackTimeoutMs: s.leaseMs,
    maxDeliveries: s.maxReceives,
    deadLetterQueue: s.deadLetter?.name ?? null,
    stats: s.stats(),
  };
}

export function queuePermissions(bits: number): ('send' | 'receive')[] {
  const out: ('send' | 'receive')[] = [];
  if (bits & PERM_SEND) out.push('send');
  if (bits & PERM_RECEIVE) out.push('receive');
  return out;
}

export function topicPermissions(bits: number): ('publish' | 'subscribe')[] {
  const out: ('publish' | 'subscribe')[] = [];
  if (bits & PERM_PUBLISH) out.push('publish');
  if (bits & PERM_SUBSCRIBE) out.push('subscribe');
  return out;
}
