// One consumer of a stream: it pushes messages as they become ready, never more than its
// credit (prefetch minus deliveries not yet acked or nacked on this connection), and
// never while the client is behind on reading what was already sent. Each delivery is a
// receive through the REST route (a committed command: receipt handle and lease); between
// receives it waits on the broker's ready notifications as a long poll does.
import type { ReceivedView } from '../../broker/index.js';
import { toApiError } from '../errors.js';
import { LIMITS } from '../schemas.js';
import type { RouteTable, Caller } from './operations.js';
import { receiveCallOf } from './operations.js';
import type { RequestId, StreamTarget } from './protocol.js';

/** What a consumer needs of its connection. */
export interface ConsumerHost {
  readonly routes: RouteTable;
  caller(signal: AbortSignal): Caller;
  /** Resolves once the client has read enough of what was sent (or the stream closed). */
  writable(): Promise<void>;
  /** The consumer's first receive succeeded: the consume request is answered. */
  started(consumer: Consumer): void;
  deliver(consumer: Consumer, messages: ReceivedView[]): void;
  /** The consumer stopped by itself: cancelled (undefined) or with an error. */
  ended(consumer: Consumer, err: unknown): void;
  /** Pauses after a refusal for load (429) before trying again. */
  backoff(signal: AbortSignal): Promise<void>;
}

export class Consumer {
  /** Receipt handles delivered and not yet acked or nacked. */
  private readonly outstanding = new Set<string>();
  private readonly stop = new AbortController();
  private creditWaiter?: () => void;
  /** Its consume request was answered (after the first receive). */
  started = false;

  constructor(
    readonly id: RequestId,
    readonly target: StreamTarget,
    readonly prefetch: number,
    private readonly visibilityTimeoutMs: number | undefined,
    private readonly host: ConsumerHost,
  ) {}

  get unacked(): number {
    return this.outstanding.size;
  }

  /** An ack or nack for `handle` was answered: its credit comes back. */
  release(handle: string): void {
    if (!this.outstanding.delete(handle)) return;
    const wake = this.creditWaiter;
    this.creditWaiter = undefined;
    wake?.();
  }

  cancel(): void {
    this.stop.abort();
    const wake = this.creditWaiter;
    this.creditWaiter = undefined;
    wake?.();
  }

  get cancelled(): boolean {
    return this.stop.signal.aborted;
  }

  /** The push loop; returns when cancelled or when the target refuses it. */
  async run(): Promise<void> {
    const signal = this.stop.signal;
    const caller = this.host.caller(signal);
    // The first receive does not wait: it answers the consume request at once, with the
    // route's errors (not_found, forbidden) if any.
    let waitMs = 0;
    try {
      while (!signal.aborted) {
        const credit = this.prefetch - this.outstanding.size;
        if (credit <= 0) {
          await new Promise<void>((resolve) => (this.creditWaiter = resolve));
          continue;
        }
        await this.host.writable();
        if (signal.aborted) break;
        const max = Math.min(credit, LIMITS.maxReceive);
        let messages: ReceivedView[];
        try {
          const answer = await this.host.routes.run(receiveCallOf(this.target, max, this.visibilityTimeoutMs, waitMs), caller);
          messages = (answer.body as { messages: ReceivedView[] }).messages;
        } catch (err) {
          if (toApiError(err).code !== 'rate_limited') throw err;
          await this.host.backoff(signal);
          continue;
        }
        if (waitMs === 0) this.host.started(this);
        waitMs = LIMITS.maxWaitMs;
        if (messages.length === 0) continue;
        // Leased even if cancelled meanwhile: the client gets them (and acks or nacks them),
        // rather than waiting out the leases.
        for (const m of messages) this.outstanding.add(m.receiptHandle);
        this.host.deliver(this, messages);
      }
      this.host.ended(this, undefined);
    } catch (err) {
      this.host.ended(this, err);
    }
  }
}
