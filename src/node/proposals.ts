import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { encodeEnvelope, type Envelope } from './envelope.js';
import { offerRecordRoom } from './storage/entry-records.js';
import { OverloadedError } from './errors.js';
import type { RaftMetrics } from './metrics.js';

/** How much may wait to commit on one node (config: maxPendingProposals and
 *  maxPendingProposalBytes), so memory stays bounded when writes outrun the disk. */
export interface PendingLimits {
  maxCount: number;
  maxBytes: number;
}

/**
 * The refusal a new proposal of `commandBytes` gets when `pending` already waits, if
 * any. A proposal alone always fits (so one larger than maxBytes is not refused forever).
 */
export function overloadedBy(pending: { count: number; bytes: number }, commandBytes: number, limits: PendingLimits): OverloadedError | undefined {
  if (pending.count >= limits.maxCount) return new OverloadedError(pending.count, pending.bytes, 'count');
  if (pending.count > 0 && pending.bytes + commandBytes > limits.maxBytes) return new OverloadedError(pending.count, pending.bytes, 'bytes');
  return undefined;
}

/** A caller waiting for its proposal to commit and apply. */
export interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
  startedMs: number;
  /** The command's size, counted in Proposals.pendingBytes until it is answered. */
  bytes: number;
}

interface QueuedProposal {
  seq: number;
  /** The command, `headroom` bytes into this array (encodeEnvelope). */
  command: Uint8Array;
  headroom: number;
  waiter: Waiter;
}

/**
 * Proposals and their waiters: queued until the Ready loop takes them into the log
 * (all queued ones ride one Ready: group commit), then waiting, by proposal id,
 * until their entry applies on this node. The id is in the entry's envelope, with
 * an origin random per process start, so an entry proposed by an earlier life of
 * this node, or by another node, never answers a waiter here.
 */
export class Proposals {
  private readonly origin = randomInt(0, 0x1_0000_0000);
  private seq = 0;
  private queue: QueuedProposal[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private bytes = 0;

  constructor(private readonly metrics: RaftMetrics) {}

  /** Queued and waiting proposals. */
  get pending(): number {
    return this.queue.length + this.waiting.size;
  }

  /** Command bytes of the queued and waiting proposals. */
  get pendingBytes(): number {
    return this.bytes;
  }

  get hasQueued(): boolean {
    return this.queue.length > 0;
  }

  /** Queues the command that starts `headroom` bytes into `command` (the bytes before it
   *  are free for the envelope). */
  enqueue(command: Uint8Array, headroom = 0): Promise<unknown> {
    const bytes = command.length - headroom;
    return new Promise((resolve, reject) => {
      this.queue.push({ seq: ++this.seq, command, headroom, waiter: { resolve, reject, startedMs: performance.now(), bytes } });
      this.bytes += bytes;
    });
  }

  /**
   * Takes every queued proposal as log entry data stamped with `time`. `propose`
   * hands them to the core; if it accepts, they wait for their entries, otherwise
   * they fail with `refusal()`.
   */
  proposeQueued(time: number, propose: (datas: Uint8Array[]) => boolean, refusal: () => Error): void {
    const batch = this.queue;
    this.queue = [];
    const datas = batch.map((p) => {
      const data = encodeEnvelope(this.origin, p.seq, time, p.command, p.headroom);
      // Encoded with COMMAND_HEADROOM, the record's head goes in front of the envelope.
      offerRecordRoom(data);
      return data;
    });
    if (propose(datas)) {
      for (const p of batch) this.waiting.set(p.seq, p.waiter);
      return;
    }
    const err = refusal();
    for (const p of batch) this.forget(p.waiter).reject(err);
    this.metrics.proposals.inc({ outcome: 'refused' }, batch.length);
  }

  /** The waiter of the entry with envelope `env`, if it was proposed here; it stops waiting. */
  claim(env: Envelope): Waiter | undefined {
    if (env.origin !== this.origin) return undefined;
    const waiter = this.waiting.get(env.seq);
    if (waiter) this.waiting.delete(env.seq);
    return waiter && this.forget(waiter);
  }

  /** A waiter leaving the pending set: its bytes stop counting. */
  private forget(waiter: Waiter): Waiter {
    this.bytes -= waiter.bytes;
    return waiter;
  }

  /** Answers a claimed waiter with apply's result. */
  resolve(waiter: Waiter, result: unknown, now: number): void {
    this.metrics.commitLatency.observe((now - waiter.startedMs) / 1000);
    this.metrics.proposals.inc({ outcome: 'committed' });
    waiter.resolve(result);
  }

  /** Fails every waiting proposal with `waitingError` and every queued one with `queuedError`. */
  failAll(waitingError: () => Error, queuedError: () => Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(waitingError());
    if (waiting.length > 0) this.metrics.proposals.inc({ outcome: 'unknown' }, waiting.length);
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.waiter.reject(queuedError());
    this.bytes = 0;
  }
}
