// Sends collected into batch requests: a message waits at most `lingerMs` for others
// (or until `maxMessages` are waiting, or the request would pass `maxBytes`), then they
// go as one `{messages: [...]}` request with one Idempotency-Key for all its retries.
// Each caller's promise settles with its own message's answer.
import { MAX_BATCH } from '../broker/commands.js';
import type { SentView } from './types.js';

/** Sends one prepared batch body (`{"messages":[...]}`), retried with one key. */
export type BatchSender = (body: string, count: number) => Promise<SentView[]>;

export interface BatchOptions {
  /** How long the first message of a batch waits for company. Default 5 ms. */
  lingerMs?: number;
  /** Messages per request (1..100). Default 100. */
  maxMessages?: number;
  /** Request body bytes (docs/API.md: at most 1 MiB per request). Default 960 KiB. */
  maxBytes?: number;
  /** Batch requests in flight at once; 1 keeps the send order. Default 1. */
  maxInFlight?: number;
}

interface Pending {
  json: string;
  bytes: number;
  resolve: (sent: SentView) => void;
  reject: (err: unknown) => void;
}

const ENVELOPE_BYTES = '{"messages":[]}'.length;

export class SendBatcher {
  private readonly lingerMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;
  private pending: Pending[] = [];
  private pendingBytes = ENVELOPE_BYTES;
  private timer: NodeJS.Timeout | undefined;
  /** Batches cut and waiting for a slot. */
  private queued: Pending[][] = [];
  private inFlight = 0;
  private inFlightMessages = 0;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly sendBatch: BatchSender, opts: BatchOptions = {}) {
    this.lingerMs = opts.lingerMs ?? 5;
    this.maxMessages = Math.min(MAX_BATCH, Math.max(1, opts.maxMessages ?? MAX_BATCH));
    this.maxBytes = opts.maxBytes ?? 960 * 1024;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  /** Queues one message (any JSON-able SendMessage); resolves with its own answer. */
  send(message: object): Promise<SentView> {
    const json = JSON.stringify(message);
    const bytes = Buffer.byteLength(json) + 1;
    return new Promise((resolve, reject) => {
      if (this.pending.length > 0 && this.pendingBytes + bytes > this.maxBytes) this.cut();
      this.pending.push({ json, bytes, resolve, reject });
      this.pendingBytes += bytes;
      if (this.pending.length >= this.maxMessages) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.lingerMs);
    });
  }

  /** Messages waiting or in flight. */
  get backlog(): number {
    return this.pending.length + this.queued.reduce((n, b) => n + b.length, 0) + this.inFlightMessages;
  }

  /** Sends what is waiting now and resolves when nothing is left in flight. */
  async flush(): Promise<void> {
    this.cut();
    if (this.inFlight === 0 && this.queued.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Closes the current batch and starts it when a slot is free. */
  private cut(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    this.queued.push(this.pending);
    this.pending = [];
    this.pendingBytes = ENVELOPE_BYTES;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queued.length > 0) {
      const batch = this.queued.shift()!;
      this.inFlight++;
      this.inFlightMessages += batch.length;
      void this.run(batch);
    }
    if (this.inFlight === 0 && this.queued.length === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const body = `{"messages":[${batch.map((p) => p.json).join(',')}]}`;
      const sent = await this.sendBatch(body, batch.length);
      if (sent.length !== batch.length) throw new Error(`batch of ${batch.length} answered with ${sent.length} results`);
      batch.forEach((p, i) => p.resolve(sent[i]));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.inFlightMessages -= batch.length;
      this.pump();
    }
  }
}
