import { canSeeQueue, canSeeTopic, findQueue, findTopic } from './access.js';
import { decodeForApply, toApplied, type AppliedCommand } from './applied-command.js';
import type { Command, CommandOf } from './commands.js';
import { EntryBodies, type EntryReader } from './entry-bodies.js';
import { BrokerError } from './errors.js';
import { applyProducerSend } from './producers.js';
import {
  ackQueue, createQueue, deleteQueue, grantQueue, nackQueue, purgeQueue, queueVisibility,
  receiveFromQueue, revokeQueue, sendMessages, sendToQueue,
} from './queue-commands.js';
import {
  applyRelocate, encodeRelocate, relocationCandidates, type RelocatedBody, type RelocationCandidate,
} from './relocate.js';
import { answerReceive, UnansweredReceive, type ReceivedRef } from './received.js';
import type {
  CommandResult, DepthRow, QueueView, SubscriptionView, TopicView, UserRecord,
} from './results.js';
import { StreamHash } from './hash.js';
import { replayedResult, storedResult, type ChannelAddress, type StoredAnswer } from './idempotency.js';
import { DEFAULT_LIMITS, type BrokerLimits } from './quotas.js';
import type { Channel } from './channel.js';
import { parseTarget } from './targets.js';
import { captureState } from './snapshot-capture.js';
import { encodeCapture, readSnapshot, writeSnapshot } from './snapshot.js';
import { BrokerState } from './state.js';
import {
  ackSubscription, createSubscription, createTopic, deleteSubscription, deleteTopic, grantTopic,
  listOwnSubscriptions, nackSubscription, publish, publishMessages, receiveFromSubscription, revokeTopic,
  subscriptionVisibility,
} from './topic-commands.js';
import { queueView, topicView } from './views.js';

export type { CommandResult } from './results.js';

/** Where in the log a command is applied and its leader-stamped time; structurally the
 *  same as src/node/state-machine.ts's ApplyContext (the broker imports nothing from node). */
export interface ApplyContext {
  index: number;
  term: number;
  time: number;
}

/** `queue:<name>` or `sub:<topic>/<subscription>`. */
export type ReadyListener = (target: string) => void;

/**
 * The replicated broker state machine: pure and deterministic. Implements the node's
 * StateMachine interface structurally (apply/snapshot/restore/stateHash).
 */
export class Broker {
  private state = new BrokerState();
  private readonly listeners = new Set<ReadyListener>();
  /** Bodies read from the log for answers (not replicated state). */
  private readonly bodies = new EntryBodies();

  /** Decodes and applies one committed entry. Never throws for a bad command: a
   *  malformed or refused command is a failed CommandResult on every replica alike.
   *  A receive's value is an UnansweredReceive (references to messages whose bodies
   *  are in the log): the answering node passes the result through answer(). */
  apply(command: Uint8Array, ctx: ApplyContext): CommandResult {
    let decoded: AppliedCommand;
    try {
      decoded = decodeForApply(command);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      // Time still advances and expiries still run, as for any other entry.
      this.advance(ctx);
      this.flushReady();
      return { ok: false, error: err.toBody() };
    }
    return this.applyDecoded(decoded, ctx);
  }

  /** Applies an already-decoded command (benchmarks skip the decoding). The bodies of
   *  what it sends are read, when answered, from the log entry at `ctx.index`. */
  applyCommand(command: Command, ctx: ApplyContext): CommandResult {
    return this.applyDecoded(toApplied(command), ctx);
  }

  /**
   * The answer the proposer's caller receives (StateMachine.answer): a receive's
   * references become docs/API.md's `Received` messages, bodies and attributes read
   * from their send entries through `read` (a few recent entries stay parsed in a small
   * cache). Anything else is returned as it is. Throws MessageBodyMissingError when a
   * live message's entry is not in the log (a bug: never an empty body).
   */
  answer(result: unknown, read: EntryReader): unknown {
    const r = result as CommandResult;
    if (!r.ok || !(r.value instanceof UnansweredReceive)) return result;
    return { ...r, value: answerReceive(r.value, this.bodies, read) };
  }

  /** The oldest log index whose entry holds the body of a live message (any queue,
   *  subscription, topic log or dead-letter queue), or undefined: the log must keep
   *  every entry from there on (StateMachine.retainFrom). O(1). */
  retainFrom(): number | undefined {
    return this.state.rt.pins.min();
  }

  /**
   * The live bodies in the oldest entries below `below`, oldest first, up to `maxBytes`
   * (README, Relocation): what the leader moves when a few old messages pin a long log.
   * Bounded work: FIFO heads and deliveries, not whole backlogs.
   */
  relocationCandidates(maxBytes: number, below: number): RelocationCandidate[] {
    return relocationCandidates(this.state, maxBytes, below);
  }

  /** The `messages.relocate` entry moving `candidates`, their bodies read through `read`
   *  (throws MessageBodyMissingError as answer() does). */
  relocateCommand(candidates: readonly RelocationCandidate[], read: EntryReader): Uint8Array {
    const bodies: RelocatedBody[] = candidates.map((c) => this.bodies.readAt(c.index, c.pos, read, (body, attributes) => ({
      index: c.index, pos: c.pos, body, attributes,
    })));
    return encodeRelocate(bodies);
  }

  /** Bytes of the live messages in queues and topic logs (body plus attributes). */
  liveBytes(): number {
    let n = 0;
    for (const q of this.state.queues.values()) n += q.bytes;
    for (const t of this.state.topics.values()) n += t.bytes;
    return n;
  }

  private applyDecoded(command: AppliedCommand, ctx: ApplyContext): CommandResult {
    const s = this.state;
    this.advance(ctx);
    const id = idempotencyId(command);
    const stored = id === undefined ? undefined : s.idempotency.get(id.owner, id.key, s.rt.now);
    let result: CommandResult;
    if (stored !== undefined) {
      result = this.replay(stored);
    } else {
      try {
        result = { ok: true, value: this.execute(command, ctx.index) };
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        result = { ok: false, error: err.toBody() };
      }
      if (id !== undefined && command.type !== 'messages.relocate') {
        const bounds = { records: s.limits.idempotencyRecordsPerUser, bytes: s.limits.idempotencyBytesPerUser };
        s.idempotency.set(id.owner, id.key, this.toStored(command, result), s.rt.now, bounds);
      }
    }
    this.flushReady();
    return result;
  }

  /** A successful receive is kept by reference (where it leased from, its receipts);
   *  any other answer as it is. */
  private toStored(command: Exclude<AppliedCommand, { type: 'messages.relocate' }>, result: CommandResult): StoredAnswer {
    if (result.ok && (command.type === 'queue.receive' || command.type === 'subscription.receive')) {
      const from = this.addressOf(command);
      const { messages } = result.value as UnansweredReceive;
      if (from !== undefined) {
        return { kind: 'receive', replayOf: command.type, from, receipts: messages.map((m) => m.receiptHandle) };
      }
    }
    return storedResult(result, command.type);
  }

  private addressOf(c: CommandOf<'queue.receive'> | CommandOf<'subscription.receive'>): ChannelAddress | undefined {
    if (c.type === 'queue.receive') {
      const q = this.state.queues.get(c.queue);
      return q && { kind: 'queue', queue: q.name, uid: q.uid };
    }
    const sub = this.state.topics.get(c.topic)?.subscriptions.get(c.subscription);
    return sub && { kind: 'sub', topic: c.topic, subscription: sub.name, uid: sub.uid };
  }

  /**
   * The answer a key gives again. A receive answers, in their first order, the messages
   * whose lease from that receive still runs — same ids, receipt handles and receive
   * counts — and omits those since acked, released, expired or leased again (or whose
   * queue or subscription is gone). Nothing is leased or changed (README, Idempotency).
   */
  private replay(a: StoredAnswer): CommandResult {
    if (a.kind === 'result') return { ...replayedResult(a), replayOf: a.replayOf };
    const ch = this.channelAt(a.from);
    const messages: ReceivedRef[] = [];
    if (ch !== undefined) {
      for (const receipt of a.receipts) {
        const ref = ch.leased(receipt);
        if (ref !== undefined) messages.push(ref);
      }
    }
    return { ok: true, value: new UnansweredReceive(messages), replayOf: a.replayOf };
  }

  private channelAt(a: ChannelAddress): Channel | undefined {
    const ch = a.kind === 'queue'
      ? this.state.queues.get(a.queue)
      : this.state.topics.get(a.topic)?.subscriptions.get(a.subscription);
    return ch !== undefined && ch.uid === a.uid ? ch : undefined;
  }

  snapshot(): Uint8Array {
    return writeSnapshot(this.state);
  }

  /**
   * The same image as snapshot(), produced incrementally: the state is captured now
   * (the only pause: a copy of references and lease fields), and the bytes are encoded
   * as the caller pulls chunks of about `chunkBytes`, which it may do between applies.
   * Concatenated, the chunks are exactly what snapshot() would have returned now.
   */
  snapshotChunks(chunkBytes = 1 << 20): Iterable<Uint8Array> {
    return encodeCapture(captureState(this.state), chunkBytes);
  }

  restore(image: Uint8Array): void {
    this.state = readSnapshot(image);
  }

  /** The limits every replica enforces now (replicated: see quotas.ts). */
  limits(): BrokerLimits {
    return this.state.limits;
  }

  /** Whether receipt handles are minted from a cluster key yet; until then the node that
   *  proposes a receive adds a fresh key candidate to it. */
  hasReceiptKey(): boolean {
    return this.state.rt.receipts !== null;
  }

  /** What a user holds, as counted against the limits. */
  usageOf(user: string): { queues: number; topics: number; subscriptions: number; grants: number; queuedBytes: number } {
    return { ...this.state.usage.peek(user) };
  }

  /** Stream producers a user has (README, Producers). */
  producerCount(user: string): number {
    return this.state.producers.count(user);
  }

  /** Idempotency records a user holds and the bytes they count for. */
  idempotencyUsage(user: string): { records: number; bytes: number } {
    return this.state.idempotency.usage(user);
  }

  /** Digest of the snapshot image, hashed chunk by chunk (no full image in memory). */
  stateHash(): string {
    const h = new StreamHash();
    for (const chunk of this.snapshotChunks(1 << 20)) h.update(chunk);
    return h.digest();
  }

  /** Replicated time as of the last applied entry. */
  now(): number {
    return this.state.rt.now;
  }

  getUser(username: string): UserRecord | undefined {
    const passwordHash = this.state.users.get(username);
    return passwordHash === undefined ? undefined : { username, passwordHash };
  }

  listQueues(user: string): CommandResult<{ queues: QueueView[] }> {
    const queues: QueueView[] = [];
    for (const q of this.state.queues.values()) if (canSeeQueue(q, user)) queues.push(queueView(q));
    return { ok: true, value: { queues } };
  }

  getQueue(user: string, name: string): CommandResult<QueueView> {
    return query(() => {
      const q = findQueue(this.state, name);
      if (!canSeeQueue(q, user)) throw new BrokerError('forbidden', `no access to queue '${name}'`);
      return queueView(q);
    });
  }

  listTopics(user: string): CommandResult<{ topics: TopicView[] }> {
    const topics: TopicView[] = [];
    for (const t of this.state.topics.values()) if (canSeeTopic(t, user)) topics.push(topicView(t));
    return { ok: true, value: { topics } };
  }

  getTopic(user: string, name: string): CommandResult<TopicView> {
    return query(() => {
      const t = findTopic(this.state, name);
      if (!canSeeTopic(t, user)) throw new BrokerError('forbidden', `no access to topic '${name}'`);
      return topicView(t);
    });
  }

  listSubscriptions(user: string, topic: string): CommandResult<{ subscriptions: SubscriptionView[] }> {
    return query(() => ({ subscriptions: listOwnSubscriptions(this.state, user, topic) }));
  }

  /** Ready messages at a long-poll target (`queue:<name>` or `sub:<topic>/<sub>`),
   *  undefined if there is no such queue or subscription. O(1), unlike queueDepths(). */
  readyCount(target: string): number | undefined {
    const at = parseTarget(target);
    if (at === undefined) return undefined;
    if ('queue' in at) return this.state.queues.get(at.queue)?.stats().ready;
    return this.state.topics.get(at.topic)?.subscriptions.get(at.subscription)?.stats().ready;
  }

  queueDepths(): DepthRow[] {
    const rows: DepthRow[] = [];
    for (const q of this.state.queues.values()) rows.push({ kind: 'queue', target: q.target, ...q.stats() });
    for (const t of this.state.topics.values()) {
      for (const sub of t.subscriptions.values()) rows.push({ kind: 'subscription', target: sub.target, ...sub.stats() });
    }
    return rows;
  }

  /** Called after an apply (or a tick's expiries) makes messages ready at `target`, and
   *  when `target` is deleted (readyCount() is then undefined).
   *  Returns the function that removes the listener. Listeners must not change state. */
  onMessagesReady(listener: ReadyListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** When the next lease or delay falls due, on the replicated clock (StateMachine). */
  nextDueAt(): number | undefined {
    return this.state.rt.timers.peek()?.visibleAt;
  }

  /** Moves the replicated clock (never backwards) and fires what fell due. */
  private advance(ctx: ApplyContext): void {
    const s = this.state;
    if (ctx.time > s.rt.now) s.rt.now = ctx.time;
    s.lastIndex = ctx.index;
    s.rt.runTimers();
    s.idempotency.expire(s.rt.now);
    s.producers.expire(s.rt.now);
  }

  private execute(c: AppliedCommand, index: number): unknown {
    const s = this.state;
    switch (c.type) {
      case 'user.register':
        if (s.users.has(c.username)) throw new BrokerError('conflict', `user '${c.username}' already exists`);
        s.users.set(c.username, c.passwordHash);
        return { username: c.username };
      case 'queue.create': return createQueue(s, c);
      case 'queue.delete': return deleteQueue(s, c);
      case 'queue.purge': return purgeQueue(s, c);
      case 'queue.grant': return grantQueue(s, c);
      case 'queue.revoke': return revokeQueue(s, c);
      case 'queue.send':
        if (c.producer !== undefined) {
          return applyProducerSend(s.producers, c, c.producer, s.rt.now, s.limits, index, (sub, at) => sendMessages(s, sub, index, at));
        }
        return sendToQueue(s, c, index);
      case 'queue.receive':
        if (c.receiptKey !== undefined) s.rt.installReceiptKey(c.receiptKey);
        return receiveFromQueue(s, c, index);
      case 'queue.ack': return ackQueue(s, c);
      case 'queue.nack': return nackQueue(s, c);
      case 'queue.visibility': return queueVisibility(s, c);
      case 'topic.create': return createTopic(s, c);
      case 'topic.delete': return deleteTopic(s, c);
      case 'topic.grant': return grantTopic(s, c);
      case 'topic.revoke': return revokeTopic(s, c);
      case 'topic.publish':
        if (c.producer !== undefined) {
          return applyProducerSend(s.producers, c, c.producer, s.rt.now, s.limits, index, (sub, at) => publishMessages(s, sub, index, at));
        }
        return publish(s, c, index);
      case 'subscription.create': return createSubscription(s, c);
      case 'subscription.delete': return deleteSubscription(s, c);
      case 'subscription.receive':
        if (c.receiptKey !== undefined) s.rt.installReceiptKey(c.receiptKey);
        return receiveFromSubscription(s, c, index);
      case 'subscription.ack': return ackSubscription(s, c);
      case 'subscription.nack': return nackSubscription(s, c);
      case 'subscription.visibility': return subscriptionVisibility(s, c);
      case 'tick':
        // Retention and dedup windows of every queue and topic; leases and delays already
        // ran in advance() off the timer heap.
        for (const q of s.queues.values()) q.trim();
        for (const t of s.topics.values()) t.trim();
        return null;
      case 'cluster.limits':
        // Entries of earlier versions name fewer limits: the rest keep their defaults.
        s.limits = { ...DEFAULT_LIMITS, ...c.limits };
        return null;
      case 'messages.relocate': return applyRelocate(s, c, index);
    }
  }

  private flushReady(): void {
    const ready = this.state.rt.readyTargets;
    if (ready.size === 0) return;
    const targets = [...ready];
    ready.clear();
    for (const target of targets) {
      for (const listener of this.listeners) {
        try {
          listener(target);
        } catch {
          // A listener's failure is the listener's business; state is already final.
        }
      }
    }
  }
}

/** Whose record space a command's Idempotency-Key lives in, and the key: the acting
 *  user, the only one who can read or fill it. Unauthenticated commands (register) and
 *  the cluster's own entries never have one. */
function idempotencyId(c: AppliedCommand): { owner: string; key: string } | undefined {
  if (c.type === 'tick' || c.type === 'cluster.limits' || c.type === 'user.register' || c.type === 'messages.relocate') return undefined;
  if (c.idempotencyKey === undefined) return undefined;
  return { owner: c.user, key: c.idempotencyKey };
}

function query<T>(f: () => T): CommandResult<T> {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    if (err instanceof BrokerError) return { ok: false, error: err.toBody() };
    throw err;
  }
}
