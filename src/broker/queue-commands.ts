import {
  findQueue, requireQueueOwner, requireQueuePerm, requireUser, resolveDeadLetter,
} from './access.js';
import {
  DEFAULT_QUEUE_RETENTION_MS, DEFAULT_VISIBILITY_TIMEOUT_MS, MAX_MESSAGE_BYTES,
  type CommandOf, type SendMessage,
} from './commands.js';
import { BrokerError } from './errors.js';
import { messageTooLarge } from './limits.js';
import { iso } from './message.js';
import { PERM_RECEIVE, PERM_SEND, Queue } from './queue.js';
import type { QueueView, ReceivedView, SentView } from './results.js';
import type { BrokerState } from './state.js';
import { queuePermissions, queueView } from './views.js';

export function createQueue(s: BrokerState, c: CommandOf<'queue.create'>): QueueView {
  requireUser(s, c.user);
  if (s.queues.has(c.name)) throw new BrokerError('conflict', `queue '${c.name}' already exists`);
  if (c.deadLetterQueue === c.name) {
    throw new BrokerError('validation_failed', 'a queue cannot be its own dead-letter queue', [
      { path: 'deadLetterQueue', message: 'same as the queue' },
    ]);
  }
  const deadLetter = resolveDeadLetter(s, c.user, c.deadLetterQueue, c.maxReceives, 'maxReceives');
  const q = new Queue(s.rt, {
    ...s.newIdentity(c.name, c.user),
    visibilityTimeoutMs: c.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
    maxReceives: c.maxReceives ?? null,
    deadLetter,
    retentionMs: c.retentionMs ?? DEFAULT_QUEUE_RETENTION_MS,
  });
  s.queues.set(q.name, q);
  return queueView(q);
}

export function deleteQueue(s: BrokerState, c: CommandOf<'queue.delete'>): null {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  q.discard();
  s.queues.delete(q.name);
  return null;
}

export function purgeQueue(s: BrokerState, c: CommandOf<'queue.purge'>): { purged: number } {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  return { purged: q.dropAll() };
}

export function grantQueue(
  s: BrokerState, c: CommandOf<'queue.grant'>,
): { username: string; permissions: ('send' | 'receive')[] } {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  if (!s.users.has(c.username)) throw new BrokerError('not_found', `user '${c.username}' not found`);
  let bits = 0;
  for (const p of c.permissions) bits |= p === 'send' ? PERM_SEND : PERM_RECEIVE;
  // PUT replaces the grant; an empty list leaves the user with nothing.
  if (bits === 0) q.grants.delete(c.username);
  else q.grants.set(c.username, bits);
  return { username: c.username, permissions: queuePermissions(bits) };
}

export function revokeQueue(s: BrokerState, c: CommandOf<'queue.revoke'>): null {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  q.grants.delete(c.username);
  return null;
}

export function sendToQueue(
  s: BrokerState, c: CommandOf<'queue.send'>, index: number,
): SentView | { messages: SentView[] } {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_SEND, 'send');
  checkBatch(c.messages, c.batch);
  q.trim();
  const sent = q.send(c.messages, index);
  return c.batch ? { messages: sent } : sent[0];
}

export function receiveFromQueue(
  s: BrokerState, c: CommandOf<'queue.receive'>, index: number,
): { messages: ReceivedView[] } {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_RECEIVE, 'receive');
  q.trim();
  return { messages: q.receive(c.max ?? 1, c.visibilityTimeoutMs ?? q.leaseMs, index) };
}

export function ackQueue(s: BrokerState, c: CommandOf<'queue.ack'>): { acked: number; unknown: string[] } {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_RECEIVE, 'receive');
  return q.ack(c.receiptHandles);
}

export function nackQueue(s: BrokerState, c: CommandOf<'queue.nack'>): { released: number; unknown: string[] } {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_RECEIVE, 'receive');
  return q.nack(c.receiptHandles, c.delayMs ?? 0);
}

export function queueVisibility(s: BrokerState, c: CommandOf<'queue.visibility'>): { visibleAt: string } {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_RECEIVE, 'receive');
  const at = q.extend(c.receiptHandle, c.visibilityTimeoutMs);
  if (at === undefined) throw new BrokerError('not_found', 'receipt handle unknown or stale');
  return { visibleAt: iso(at) };
}

/** Whole-batch checks before anything is enqueued: a batch is applied all or nothing. */
export function checkBatch(messages: readonly Pick<SendMessage, 'body' | 'attributes'>[], batch: boolean): void {
  if (!batch && messages.length !== 1) {
    throw new BrokerError('validation_failed', 'a single send carries exactly one message', [
      { path: 'messages', message: 'expected one message' },
    ]);
  }
  for (let i = 0; i < messages.length; i++) {
    if (messageTooLarge(messages[i])) {
      throw new BrokerError('payload_too_large', `message over ${MAX_MESSAGE_BYTES} bytes (body plus attribute names and values)`, [
        { path: batch ? `messages.${i}` : '', message: 'too large' },
      ]);
    }
  }
}
