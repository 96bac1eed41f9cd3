// consume(): an endless async iterator over long polls. Each message comes as a Delivery
// that acks or nacks itself. Aborting the signal (or leaving a for-await loop) ends the
// iteration without an error; leased messages that were not acked come back after their
// visibility timeout (docs/API.md).
import type { CallOptions, Inbox } from './inbox.js';
import type { AckResult, NackResult, ReceivedView } from './types.js';

export interface ConsumeOptions {
  /** Messages per receive (1..100). Default 10. */
  max?: number;
  /** Long-poll wait per receive (0..20000). Default 20000. */
  waitMs?: number;
  visibilityTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface Delivery extends ReceivedView {
  ack(opts?: CallOptions): Promise<AckResult>;
  nack(delayMs?: number, opts?: CallOptions): Promise<NackResult>;
}

export async function* consume(inbox: Inbox, opts: ConsumeOptions): AsyncIterableIterator<Delivery> {
  const input = {
    max: opts.max ?? 10,
    waitMs: opts.waitMs ?? 20_000,
    ...(opts.visibilityTimeoutMs !== undefined && { visibilityTimeoutMs: opts.visibilityTimeoutMs }),
  };
  const signal = opts.signal;
  const stopped = (): boolean => signal?.aborted === true;
  while (!stopped()) {
    let messages: ReceivedView[];
    try {
      messages = await inbox.receive(input, { signal });
    } catch (err) {
      if (stopped()) return;
      throw err;
    }
    for (const m of messages) yield delivery(inbox, m);
  }
}

function delivery(inbox: Inbox, m: ReceivedView): Delivery {
  return {
    ...m,
    ack: (o) => inbox.ack([m.receiptHandle], o),
    nack: (delayMs, o) => inbox.nack([m.receiptHandle], delayMs, o),
  };
}
