import {
  findQueue, requireQueueOwner, requireQueuePerm, requireUser, resolveDeadLetter,
} from './access.js';
import {
  DEFAULT_QUEUE_RETENTION_MS, DEFAULT_VISIBILITY_TIMEOUT_MS, MAX_MESSAGE_BYTES, type CommandOf,
} from './commands.js';
import type { SendMeta } from './applied-command.js';
import { BrokerError } from './errors.js';
import { checkLimit } from './quotas.js';
import { iso } from './message.js';
import { PERM_RECEIVE, PERM_SEND, Queue } from './queue.js';
import { UnansweredReceive } from './received.js';
import type { QueueView, SentView } from './results.js';
import type { MessageMeta } from './send-codec.js';
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
  const usage = s.usage.of(c.user);
  checkLimit(s.limits, 'queuesPerUser', usage.queues, 1, `user '${c.user}' owns ${usage.queues} queues`);
  const q = new Queue(s.rt, {
    ...s.newIdentity(c.name, c.user),
    visibilityTimeoutMs: c.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
    maxReceives: c.maxReceives ?? null,
    deadLetter,
    retentionMs: c.retentionMs ?? DEFAULT_QUEUE_RETENTION_MS,
  }, usage);
  usage.queues++;
  s.queues.set(q.name, q);
  return queueView(q);
}

export function deleteQueue(s: BrokerState, c: CommandOf<'queue.delete'>): null {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  q.discard();
  const usage = s.usage.of(q.owner);
  usage.queues--;
  usage.grants -= q.grants.size;
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
  setGrant(s, q.owner, q.grants, c.username, bits);
  return { username: c.username, permissions: queuePermissions(bits) };
}

export function revokeQueue(s: BrokerState, c: CommandOf<'queue.revoke'>): null {
  const q = findQueue(s, c.queue);
  requireQueueOwner(q, c.user);
  setGrant(s, q.owner, q.grants, c.username, 0);
  return null;
}

export function sendToQueue(
  s: BrokerState, c: SendMeta, index: number,
): SentView | { messages: SentView[] } {
  const sent = sendMessages(s, c, index);
  return c.batch ? { messages: sent } : sent[0];
}

/** A send's messages, each answered; `positions` as in Queue.send. */
export function sendMessages(s: BrokerState, c: SendMeta, index: number, positions?: readonly number[]): SentView[] {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_SEND, 'send');
  checkBatch(c.messages, c.batch);
  q.trim();
  checkQueueRoom(s, q, c.messages);
  return q.send(c.messages, index, positions);
}

export function receiveFromQueue(
  s: BrokerState, c: CommandOf<'queue.receive'>, index: number,
): UnansweredReceive {
  const q = findQueue(s, c.queue);
  requireQueuePerm(q, c.user, PERM_RECEIVE, 'receive');
  q.trim();
  return new UnansweredReceive(q.receive(c.max ?? 1, c.visibilityTimeoutMs ?? q.leaseMs, index));
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
export function checkBatch(messages: readonly MessageMeta[], batch: boolean): void {
  if (!batch && messages.length !== 1) {
    throw new BrokerError('validation_failed', 'a single send carries exactly one message', [
      { path: 'messages', message: 'expected one message' },
    ]);
  }
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].bytes > MAX_MESSAGE_BYTES) {
      throw new BrokerError('payload_too_large', `message over ${MAX_MESSAGE_BYTES} bytes (body plus attribute names and values)`, [
        { path: batch ? `messages.${i}` : '', message: 'too large' },
      ]);
    }
  }
}

/** Sets (bits > 0) or removes (0) `grantee`'s grant in `grants`, owned by `owner`,
 *  counting it against the owner's grantsPerUser. */
export function setGrant(s: BrokerState, owner: string, grants: Map<string, number>, grantee: string, bits: number): void {
  const usage = s.usage.of(owner);
  const had = grants.has(grantee);
  if (bits === 0) {
    if (had) usage.grants--;
    grants.delete(grantee);
    return;
  }
  if (!had) {
    checkLimit(s.limits, 'grantsPerUser', usage.grants, 1, `user '${owner}' has given ${usage.grants} grants`);
    usage.grants++;
  }
  grants.set(grantee, bits);
}

/** A send is refused whole when the queue or its owner would go past a limit; every
 *  message of the batch counts, deduplicated ones included (decided before sending). */
function checkQueueRoom(s: BrokerState, q: Queue, messages: readonly MessageMeta[]): void {
  const bytes = batchBytes(messages);
  checkLimit(s.limits, 'messagesPerQueue', q.messageCount(), messages.length, `queue '${q.name}' holds ${q.messageCount()} messages`);
  checkLimit(s.limits, 'queuedBytesPerQueue', q.bytes, bytes, `queue '${q.name}' holds ${q.bytes} bytes`);
  const usage = s.usage.of(q.owner);
  checkLimit(s.limits, 'queuedBytesPerUser', usage.queuedBytes, bytes, `the queues of user '${q.owner}' hold ${usage.queuedBytes} bytes`);
}

/** The bytes a batch counts for (messageBytes of each message). */
export function batchBytes(messages: readonly MessageMeta[]): number {
  let n = 0;
  for (const m of messages) n += m.bytes;
  return n;
}
