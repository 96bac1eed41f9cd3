// The chaos traffic over the stream (docs/STREAM.md) instead of REST, for
// `make chaos WORKLOAD=stream`: the same producers (unique payloads; each client one
// idempotent producer whose frames are numbered) and consumers (ack, or "crash" now and
// then), through StreamClients that reconnect and resend on their own across leader
// kills, pauses and partitions.
// The history and the checker are the REST workload's.
import { StreamClient, StreamClosedError, StreamRequestError, type Delivery, type StreamClientState, type StreamTarget } from '../../src/client/stream.js';
import type { HistoryRecorder } from './history.js';
import { queueTarget, subTarget, type Target } from './ops.js';

export interface StreamTrafficOptions {
  urls: readonly string[];
  history: HistoryRecorder;
  random: () => number;
  token: () => string;
  queues: readonly string[];
  topic: string;
  subscriptions: readonly string[];
  producers: number;
  /** Probability that a consumer skips an ack, as if it crashed (0 while draining). */
  skipAckProbability: () => number;
  producing: () => boolean;
  consuming: () => boolean;
  /** A consumer got messages of `target` (the drain waits for quiet). */
  delivered: (target: Target) => void;
}

const PREFETCH = 10;
/** A consumer that "crashed" this many times (skipped acks hold credit) starts over. */
const SKIPS_BEFORE_RESTART = PREFETCH / 2;

export class StreamTraffic {
  private readonly clients: Array<{ name: string; client: StreamClient }> = [];
  readonly producerLoops: Array<Promise<void>> = [];
  readonly consumerLoops: Array<Promise<void>> = [];

  constructor(private readonly opts: StreamTrafficOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    for (let i = 0; i < opts.producers; i++) {
      const name = `stream-producer-${i}`;
      this.producerLoops.push(this.produce(name, await this.connect(name)));
    }
    const consumerClient = await this.connect('stream-consumers');
    opts.queues.forEach((q, i) => {
      this.consumerLoops.push(this.consume(`stream-consumer-q${i}`, consumerClient, { queue: q }, queueTarget(q)));
    });
    for (const s of opts.subscriptions) {
      this.consumerLoops.push(this.consume(`stream-consumer-${s}`, consumerClient, { topic: opts.topic, subscription: s }, subTarget(opts.topic, s)));
    }
  }

  /** Closes every client once its requests are answered, or after drainMs. */
  async close(drainMs = 2_000): Promise<void> {
    await Promise.all(this.clients.map(({ client }) => client.close(drainMs).catch(() => undefined)));
  }

  /** Each client's state, for the dump of a stuck run. */
  states(): Array<{ name: string; state: StreamClientState }> {
    return this.clients.map(({ name, client }) => ({ name, state: client.debugState() }));
  }

  private async connect(name: string): Promise<StreamClient> {
    const client = await StreamClient.connect({
      urls: this.opts.urls,
      token: () => this.opts.token(),
      maxUnconfirmed: 16,
      // The default resend guard (producer sequences, docs/STREAM.md, Producers): a send
      // resent after a leader change is answered from its producer's window.
      reconnectDeadlineMs: 600_000,
      heartbeatMs: 3_000,
    });
    this.clients.push({ name, client });
    return client;
  }

  private async produce(process: string, client: StreamClient): Promise<void> {
    const { opts } = this;
    let seq = 0;
    while (opts.producing()) {
      seq++;
      const n = opts.random() < 0.2 ? 2 + Math.floor(opts.random() * 4) : 1;
      const payloads = Array.from({ length: n }, (_, i) => `${process}:${seq}:${i}`);
      const key = `${process}-${seq}`;
      const messages = payloads.map((body) => ({ body }));
      const publish = opts.random() < 0.3;
      const queue = opts.queues[Math.floor(opts.random() * opts.queues.length)];
      const opId = publish
        ? opts.history.invoke(process, 'publish', { topic: opts.topic, key, payloads })
        : opts.history.invoke(process, 'send', { queue, key, payloads });
      try {
        // `key` names the operation in the history only: the client guards its resends.
        const sent = publish
          ? await (n === 1 ? client.publish(opts.topic, messages[0]).then((s) => [s]) : client.publish(opts.topic, messages))
          : await (n === 1 ? client.send(queue, messages[0]).then((s) => [s]) : client.send(queue, messages));
        const ids = sent.map((s) => s.id);
        if (publish) opts.history.complete(opId, process, 'publish', 'ok', { topic: opts.topic, key, payloads, ids });
        else opts.history.complete(opId, process, 'send', 'ok', { queue, key, payloads, ids });
      } catch (err) {
        // A refusal is certain; a stream that gave up leaves the outcome unknown.
        const type = err instanceof StreamRequestError ? 'fail' : 'info';
        const error = err instanceof Error ? err.message : String(err);
        if (publish) opts.history.complete(opId, process, 'publish', type, { topic: opts.topic, key, payloads }, error);
        else opts.history.complete(opId, process, 'send', type, { queue, key, payloads }, error);
        if (err instanceof StreamClosedError) return;
        await sleep(100);
      }
    }
  }

  private async consume(process: string, client: StreamClient, where: StreamTarget, target: Target): Promise<void> {
    const { opts } = this;
    while (opts.consuming()) {
      // Every delivery of this consumer was leased after it started: the receive's
      // earliest possible start, for the checker's lease and order reasoning.
      const started = opts.history.clock();
      const consumer = client.consume(where, { prefetch: PREFETCH });
      let skips = 0;
      const stopWhenIdle = setInterval(() => {
        if (!opts.consuming()) void consumer.cancel();
      }, 200);
      try {
        for await (const d of consumer) {
          this.record(process, target, d, started);
          opts.delivered(target);
          if (opts.consuming() && opts.random() < opts.skipAckProbability()) {
            if (++skips >= SKIPS_BEFORE_RESTART) break; // "crashed": a new consumer, fresh credit
            continue;
          }
          await this.ack(process, target, d);
          if (!opts.consuming()) break;
        }
      } catch (err) {
        if (err instanceof StreamClosedError) return;
        await sleep(100);
      } finally {
        clearInterval(stopWhenIdle);
        await consumer.cancel();
      }
    }
  }

  /** One delivery as a receive of one message, invoked when the consumer started. */
  private record(process: string, target: Target, d: Delivery, startedAt: number): void {
    const { history } = this.opts;
    const opId = history.invoke(process, 'receive', { target }, startedAt);
    history.complete(opId, process, 'receive', 'ok', {
      target,
      messages: [{ id: d.id, body: d.body, receiveCount: d.receiveCount, receiptHandle: d.receiptHandle }],
    });
  }

  private async ack(process: string, target: Target, d: Delivery): Promise<void> {
    const { history } = this.opts;
    const items = [{ id: d.id, receiveCount: d.receiveCount, receiptHandle: d.receiptHandle }];
    const opId = history.invoke(process, 'ack', { target, items });
    try {
      const ok = await d.ack();
      history.complete(opId, process, 'ack', 'ok', { target, items, unknown: ok ? [] : [d.receiptHandle] });
    } catch (err) {
      history.complete(opId, process, 'ack', err instanceof StreamRequestError ? 'fail' : 'info', { target, items }, err instanceof Error ? err.message : String(err));
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
