// Scenario 4: drain a queue of 100,000 1 KiB messages with 16 consumers, each receiving
// up to 10 at a time and acking them in one request.
import { LeaderPool } from '../client.js';
import { BODY_1KIB, ensureQueue, expectCreated, measured, purge, raftLine, sleep } from '../context.js';
import { closedLoop, type LoadState } from '../load.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { fillQueue } from './fill.js';

const QUEUE = 'bench-drain';
const CONSUMERS = 16;
const MAX = 10;

interface Received {
  messages: Array<{ receiptHandle: string }>;
}

export const receiveAck: Scenario = {
  id: 4,
  name: 'receiveAck',
  cpuUnit: 'drained',
  title: (ctx) => `receive+ack: drain ${formatCount(ctx.options.drainMessages)}, max=${MAX}, ${CONSUMERS} consumers`,
  metrics: [
    { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'receiveAck.rate' },
    { key: 'p50', label: 'p50 (receive+ack)', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: QUEUE, messages: ctx.options.drainMessages, consumers: CONSUMERS, max: MAX, bodyBytes: BODY_1KIB.length }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx, run, runs) {
    const total = ctx.options.drainMessages;
    await purge(ctx, QUEUE);
    const fillMs = await fillQueue(ctx, { queue: QUEUE, messages: total, body: BODY_1KIB, label: `run ${run + 1}/${runs}: fill` });
    const pool = new LeaderPool(ctx.link, { connections: CONSUMERS, pipelining: 1 });
    const receiveBody = JSON.stringify({ max: MAX, waitMs: 0 });
    const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
    let emptyReceives = 0;
    // Acks answered with an error (e.g. a leader change) may still have been applied, so
    // the drain also ends when the queue reports nothing ready, leased or delayed.
    let drained = false;
    let lastCheck = 0;
    const checkDrained = async () => {
      if (performance.now() - lastCheck < 250) return;
      lastCheck = performance.now();
      const q = await ctx.link.json<{ stats: { ready: number; inflight: number; delayed: number } }>('GET', `/v1/queues/${QUEUE}`);
      if (q.stats.ready + q.stats.inflight + q.stats.delayed === 0) drained = true;
    };
    const bar = ctx.progress.start(`run ${run + 1}/${runs}: drain`, () => state.messages / total,
      () => `${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} msg/s`);
    try {
      const outcome = await measured(ctx, async () => {
        const result = await closedLoop({
          concurrency: CONSUMERS,
          durationMs: 600_000,
          done: () => drained || state.messages >= total,
          op: async () => {
            const got = await pool.post(`/v1/queues/${QUEUE}/receive`, receiveBody);
            expectCreated(got.status, got.text, 'receive');
            const handles = (JSON.parse(got.text) as Received).messages.map((m) => m.receiptHandle);
            if (handles.length === 0) {
              // The rest is leased by other consumers; their acks will finish the drain.
              emptyReceives++;
              await checkDrained();
              await sleep(2);
              return 0;
            }
            const acked = await pool.post(`/v1/queues/${QUEUE}/ack`, JSON.stringify({ receiptHandles: handles }));
            expectCreated(acked.status, acked.text, 'ack');
            return (JSON.parse(acked.text) as { acked: number }).acked;
          },
        }, state);
        const removed = drained ? total : result.messages;
        return {
          messages: removed,
          values: { rate: (removed * 1000) / result.elapsedMs, p50: result.latency.p50 },
          detail: { removed, acked: result.messages, operations: result.operations, emptyReceives, errors: result.errors, errorSamples: result.errorSamples, elapsedMs: result.elapsedMs, fillMs, latencyMs: result.latency },
        };
      });
      bar.done(`${formatNumber(outcome.values.rate)} msg/s (${String(outcome.detail.removed)} drained in ${(Number(outcome.detail.elapsedMs) / 1000).toFixed(1)} s, ${String(outcome.detail.errors)} errors)`);
      ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
      return outcome;
    } finally {
      await pool.close();
    }
  },
};
