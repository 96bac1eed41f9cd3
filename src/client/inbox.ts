// The receiving side shared by queues and subscriptions (docs/API.md gives both the same
// receive, ack and nack): plain calls, and consume(), an async iterator over long polls.
import { consume, type ConsumeOptions, type Delivery } from './consume.js';
import type { RestClient } from './rest.js';
import type { AckResult, NackResult, ReceiveInput, ReceivedView } from './types.js';

export interface CallOptions {
  signal?: AbortSignal;
  /** A key of your own for this write (default: one generated per call). */
  idempotencyKey?: string;
}

export class Inbox {
  /** `/v1/queues/<name>` or `/v1/topics/<topic>/subscriptions/<sub>`. */
  constructor(protected readonly rest: RestClient, readonly path: string) {}

  /** One receive; with `waitMs` a long poll that answers as soon as messages are ready. */
  async receive(input: ReceiveInput = {}, opts: CallOptions = {}): Promise<ReceivedView[]> {
    const out = await this.rest.call<{ messages: ReceivedView[] }>({
      method: 'POST', path: `${this.path}/receive`, body: input, signal: opts.signal, idempotencyKey: opts.idempotencyKey,
      // The answer of a long poll comes up to waitMs late on purpose.
      timeoutMs: this.rest.attemptTimeoutMs + (input.waitMs ?? 0),
    });
    return out.messages;
  }

  ack(receiptHandles: string[], opts: CallOptions = {}): Promise<AckResult> {
    return this.rest.call({ method: 'POST', path: `${this.path}/ack`, body: { receiptHandles }, ...opts });
  }

  nack(receiptHandles: string[], delayMs = 0, opts: CallOptions = {}): Promise<NackResult> {
    return this.rest.call({ method: 'POST', path: `${this.path}/nack`, body: { receiptHandles, delayMs }, ...opts });
  }

  /** Messages as they come, each with ack()/nack(); ends when `signal` aborts. */
  consume(opts: ConsumeOptions = {}): AsyncIterableIterator<Delivery> {
    return consume(this, opts);
  }
}
