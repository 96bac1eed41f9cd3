// Scenarios 10-12 (`--stream`, or --only 10,11,12): the WebSocket stream of
// docs/STREAM.md with the library's StreamClient, one connection to the leader.
// 10: sends one at a time (latency beside REST's sequential send); 11: 256 sends
// unconfirmed at once, each confirmed on its own; 12: drain a queue with one consumer,
// prefetch 256, acking every message (the client batches acks of one turn).
import { StreamClient } from '../../../src/client/stream.js';
import { BODY_1KIB, ensureQueue, measured, purge, raftLine, type BenchContext } from '../context.js';
import { closedLoop, type LoadState } from '../load.js';
import type { RunOutcome } from '../results.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { fillQueue } from './fill.js';

function connect(ctx: BenchContext, maxUnconfirmed: number): Promise<StreamClient> {
  return StreamClient.connect({
    urls: ctx.cluster.nodeIds.map((id) => ctx.cluster.httpUrl(id)),
    token: ctx.link.token,
    maxUnconfirmed,
  });
}

async function runStreamSend(ctx: BenchContext, queue: string, inFlight: number, durationMs: number, label: string): Promise<RunOutcome> {
  const client = await connect(ctx, inFlight);
  const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  const bar = ctx.progress.start(label, () => (performance.now() - state.startedAt) / durationMs,
    () => `${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} msg/s`);
  try {
    const outcome = await measured(ctx, async () => {
      const result = await closedLoop({
        concurrency: inFlight,
        durationMs,
        op: async () => {
          await client.send(queue, { body: BODY_1KIB });
          return 1;
        },
      }, state);
      return {
        messages: result.messages,
        values: { rate: result.rate, p50: result.latency.p50, p99: result.latency.p99 },
        detail: { messages: result.messages, errors: result.errors, errorSamples: result.errorSamples, elapsedMs: result.elapsedMs, latencyMs: result.latency, reconnects: client.reconnects },
      };
    });
    bar.done(`${formatNumber(outcome.values.rate)} msg/s, p50 ${formatNumber(outcome.values.p50)} ms, p99 ${formatNumber(outcome.values.p99)} ms, errors ${String(outcome.detail.errors)}`);
    ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
    return outcome;
  } finally {
    await client.close();
    await purge(ctx, queue);
  }
}

export const streamSequential: Scenario = {
  id: 10,
  name: 'streamSequential',
  cpuUnit: 'sent',
  title: 'stream send, 1 in flight',
  metrics: [
    { key: 'rate', label: 'msgs/s', unit: 'msg/s' },
    { key: 'p50', label: 'p50', unit: 'ms' },
    { key: 'p99', label: 'p99', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: 'bench-stream-seq', inFlight: 1, bodyBytes: BODY_1KIB.length, durationMs: ctx.options.durations.sequentialMs }),
  setup: (ctx) => ensureQueue(ctx, 'bench-stream-seq'),
  run: (ctx, run, runs) => runStreamSend(ctx, 'bench-stream-seq', 1, ctx.options.durations.sequentialMs, `run ${run + 1}/${runs}`),
};

export const streamSend: Scenario = {
  id: 11,
  name: 'streamSend',
  cpuUnit: 'sent',
  title: 'stream send, 256 unconfirmed in flight, one connection',
  metrics: [
    { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'streamSend.rate' },
    { key: 'p50', label: 'p50', unit: 'ms' },
    { key: 'p99', label: 'p99', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: 'bench-stream', inFlight: 256, bodyBytes: BODY_1KIB.length, durationMs: ctx.options.durations.pipelinedMs }),
  setup: (ctx) => ensureQueue(ctx, 'bench-stream'),
  run: (ctx, run, runs) => runStreamSend(ctx, 'bench-stream', 256, ctx.options.durations.pipelinedMs, `run ${run + 1}/${runs}`),
};

const DRAIN_QUEUE = 'bench-stream-drain';
const PREFETCH = 256;

export const streamConsume: Scenario = {
  id: 12,
  name: 'streamConsume',
  cpuUnit: 'drained',
  title: (ctx) => `stream consume: drain ${formatCount(ctx.options.drainMessages)}, prefetch ${PREFETCH}, ack each`,
  metrics: [{ key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'streamConsume.rate' }],
  config: (ctx) => ({ queue: DRAIN_QUEUE, messages: ctx.options.drainMessages, prefetch: PREFETCH, bodyBytes: BODY_1KIB.length }),
  setup: (ctx) => ensureQueue(ctx, DRAIN_QUEUE),
  async run(ctx, run, runs) {
    const total = ctx.options.drainMessages;
    await purge(ctx, DRAIN_QUEUE);
    const fillMs = await fillQueue(ctx, { queue: DRAIN_QUEUE, messages: total, body: BODY_1KIB, label: `run ${run + 1}/${runs}: fill` });
    const client = await connect(ctx, 1024);
    let acked = 0;
    let stale = 0;
    const started = performance.now();
    const bar = ctx.progress.start(`run ${run + 1}/${runs}: drain`, () => acked / total,
      () => `${formatNumber((acked * 1000) / Math.max(1, performance.now() - started))} msg/s`);
    try {
      const outcome = await measured(ctx, async () => {
        const t0 = performance.now();
        const acks: Array<Promise<void>> = [];
        let received = 0;
        for await (const delivery of client.consume({ queue: DRAIN_QUEUE }, { prefetch: PREFETCH })) {
          acks.push(delivery.ack().then((ok) => {
            if (ok) acked++;
            else stale++;
          }));
          if (++received >= total) break;
        }
        await Promise.all(acks);
        const elapsedMs = performance.now() - t0;
        return {
          messages: acked,
          values: { rate: (acked * 1000) / elapsedMs },
          detail: { acked, stale, received, elapsedMs, fillMs, reconnects: client.reconnects },
        };
      });
      bar.done(`${formatNumber(outcome.values.rate)} msg/s (${String(outcome.detail.acked)} acked in ${(Number(outcome.detail.elapsedMs) / 1000).toFixed(1)} s)`);
      ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
      return outcome;
    } finally {
      await client.close();
    }
  },
};
