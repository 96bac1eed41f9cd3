// Scenarios 5 and 6: producers and long-polling consumers running together. Each
// message carries its send time in an attribute; the consumer records send-to-receive
// latency when the receive answers. Producers hold back when more than `window`
// deliveries are outstanding, so the figure is the sustained rate, not a growing backlog.
import { LeaderPool } from '../client.js';
import { BODY_1KIB, expectCreated, measured, raftLine, sleep, type BenchContext } from '../context.js';
import { latencyHistogram, percentiles, recordMs } from '../histogram.js';
import { closedLoop, type LoadState } from '../load.js';
import type { RunOutcome } from '../results.js';
import { ratePerSecond } from '../stats.js';
import { formatNumber } from '../table.js';

export interface FlowShape {
  /** Where producers send (a queue's or a topic's messages path). */
  sendPath: string;
  /** Receive and ack paths; consumers are spread over them round-robin. */
  targets: Array<{ receive: string; ack: string }>;
  producers: number;
  consumers: number;
  max: number;
  waitMs: number;
  /** Deliveries each sent message makes (subscriptions of the topic). */
  fanout: number;
  /** Most deliveries outstanding before producers wait. */
  window: number;
  durationMs: number;
}

interface Received {
  messages: Array<{ receiptHandle: string; attributes: Record<string, string> }>;
}

const wallNow = () => performance.timeOrigin + performance.now();
const PREFIX = `{"body":"${BODY_1KIB}","attributes":{"t":"`;

export async function runFlow(ctx: BenchContext, shape: FlowShape, label: string): Promise<RunOutcome> {
  const latency = latencyHistogram();
  const producerPool = new LeaderPool(ctx.link, { connections: shape.producers, pipelining: 1 });
  const consumerPool = new LeaderPool(ctx.link, { connections: shape.consumers, pipelining: 1 });
  const receiveBody = JSON.stringify({ max: shape.max, waitMs: shape.waitMs });
  const producerState: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  const consumerState: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  let delivered = 0;
  let start = performance.now();
  const end = () => start + shape.durationMs;
  const outstanding = () => producerState.messages * shape.fanout - consumerState.messages;
  const bar = ctx.progress.start(label, () => (performance.now() - start) / shape.durationMs,
    () => `${formatNumber(ratePerSecond(delivered, performance.now() - start))} deliveries/s`);
  try {
    const outcome = await measured(ctx, async () => {
      start = performance.now();
      const [produced, consumed] = await Promise.all([
        closedLoop({
          concurrency: shape.producers,
          durationMs: shape.durationMs,
          op: async () => {
            while (outstanding() > shape.window && performance.now() < end()) await sleep(1);
            if (performance.now() >= end()) return 0;
            const reply = await producerPool.post(shape.sendPath, `${PREFIX}${wallNow().toFixed(3)}"}}`);
            expectCreated(reply.status, reply.text, 'send');
            return 1;
          },
        }, producerState),
        closedLoop({
          concurrency: shape.consumers,
          durationMs: shape.durationMs,
          op: async (worker) => {
            const target = shape.targets[worker % shape.targets.length];
            const got = await consumerPool.post(target.receive, receiveBody);
            expectCreated(got.status, got.text, 'receive');
            const at = wallNow();
            const messages = (JSON.parse(got.text) as Received).messages;
            if (messages.length === 0) return 0;
            if (performance.now() <= end()) {
              delivered += messages.length;
              for (const m of messages) recordMs(latency, at - Number(m.attributes.t));
            }
            const acked = await consumerPool.post(target.ack, JSON.stringify({ receiptHandles: messages.map((m) => m.receiptHandle) }));
            expectCreated(acked.status, acked.text, 'ack');
            return messages.length;
          },
        }, consumerState),
      ]);
      const e2e = percentiles(latency);
      return {
        messages: consumed.messages,
        values: {
          deliveryRate: ratePerSecond(delivered, shape.durationMs),
          sendRate: ratePerSecond(produced.messages, shape.durationMs),
          p50: e2e.p50,
          p99: e2e.p99,
        },
        detail: {
          sent: produced.messages, delivered, received: consumed.messages, endToEndMs: e2e,
          sendLatencyMs: produced.latency, receiveAckLatencyMs: consumed.latency,
          producerErrors: produced.errors, consumerErrors: consumed.errors,
          errorSamples: [...produced.errorSamples, ...consumed.errorSamples],
        },
      };
    });
    bar.done(`${formatNumber(outcome.values.deliveryRate)} deliveries/s, sent ${formatNumber(outcome.values.sendRate)}/s, p99 ${formatNumber(outcome.values.p99)} ms`);
    ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
    return outcome;
  } finally {
    await Promise.all([producerPool.close(), consumerPool.close()]);
  }
}
