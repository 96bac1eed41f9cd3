// Scenarios 1-3: acknowledged sends to one queue on the leader, one request at a time,
// 256 in flight, or in batches; each run ends with a purge so queues do not pile up.
import { LeaderPool, type PoolShape } from '../client.js';
import { BODY_1KIB, batchBody, ensureQueue, expectCreated, measured, purge, raftLine, sendBody, type BenchContext } from '../context.js';
import { closedLoop, type LoadState } from '../load.js';
import { formatNumber } from '../table.js';
import type { RunOutcome } from '../results.js';
import type { Scenario } from '../scenario.js';

interface SendLoad {
  queue: string;
  perRequest: number;
  inFlight: number;
  shape: PoolShape;
  durationMs: (ctx: BenchContext) => number;
}

export async function runSendLoad(ctx: BenchContext, load: SendLoad, label: string): Promise<RunOutcome> {
  // Bytes built once: the load generator shares the cores with the servers, and a
  // string body is encoded again for every request.
  const body = Buffer.from(load.perRequest === 1 ? sendBody(BODY_1KIB) : batchBody(BODY_1KIB, load.perRequest));
  const path = `/v1/queues/${load.queue}/messages`;
  const durationMs = load.durationMs(ctx);
  const pool = new LeaderPool(ctx.link, load.shape);
  const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  const bar = ctx.progress.start(label, () => (performance.now() - state.startedAt) / durationMs,
    () => `${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} msg/s`);
  try {
    const outcome = await measured(ctx, async () => {
      const result = await closedLoop({
        concurrency: load.inFlight,
        durationMs,
        op: async () => {
          const reply = await pool.post(path, body);
          expectCreated(reply.status, reply.text, 'send');
          return load.perRequest;
        },
      }, state);
      return {
        messages: result.messages,
        values: { rate: result.rate, p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p999 },
        detail: {
          messages: result.messages, requests: result.operations, errors: result.errors, errorSamples: result.errorSamples,
          elapsedMs: result.elapsedMs, latencyMs: result.latency, redirects: ctx.link.redirects,
        },
      };
    });
    bar.done(`${formatNumber(outcome.values.rate)} msg/s, p50 ${formatNumber(outcome.values.p50)} ms, p99 ${formatNumber(outcome.values.p99)} ms, errors ${String(outcome.detail.errors)}`);
    ctx.progress.log(`    ${raftLine(ctx, outcome)}`);
    return outcome;
  } finally {
    await pool.close();
    await purge(ctx, load.queue);
  }
}

function sendScenario(id: number, name: string, title: string, load: SendLoad, metrics: Scenario['metrics']): Scenario {
  return {
    id, name, title, metrics, cpuUnit: 'sent',
    config: (ctx) => ({ queue: load.queue, bodyBytes: BODY_1KIB.length, perRequest: load.perRequest, inFlight: load.inFlight, ...load.shape, durationMs: load.durationMs(ctx) }),
    setup: (ctx) => ensureQueue(ctx, load.queue),
    run: (ctx, run, runs) => runSendLoad(ctx, load, `run ${run + 1}/${runs}`),
  };
}

/** Connections x pipelining for 256 in flight; BENCH_CONNECTIONS changes the split. */
function pipelinedShape(): PoolShape {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
  return { connections, pipelining: Math.max(1, Math.ceil(256 / connections)) };
}

export const sequentialSend = sendScenario(1, 'sequential', 'sequential send', {
  queue: 'bench-sequential', perRequest: 1, inFlight: 1, shape: { connections: 1, pipelining: 1 },
  durationMs: (ctx) => ctx.options.durations.sequentialMs,
}, [
  { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'sequential.rate' },
  { key: 'p50', label: 'p50', unit: 'ms', ref: 'sequential.p50' },
  { key: 'p99', label: 'p99', unit: 'ms' },
  { key: 'p999', label: 'p99.9', unit: 'ms' },
]);

export const pipelinedSend = sendScenario(2, 'pipelined', 'pipelined send, 256 in flight', {
  queue: 'bench-pipelined', perRequest: 1, inFlight: 256, shape: pipelinedShape(),
  durationMs: (ctx) => ctx.options.durations.pipelinedMs,
}, [
  { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'pipelined.rate' },
  { key: 'p50', label: 'p50', unit: 'ms' },
  { key: 'p99', label: 'p99', unit: 'ms' },
]);

/** Batched sends: one request per connection. */
export const BATCHED_SHAPE: PoolShape = { connections: 32, pipelining: 1 };

export const batchedSend10 = sendScenario(3, 'batched10', 'batched send, 10/request, 32 in flight', {
  queue: 'bench-batched', perRequest: 10, inFlight: 32, shape: BATCHED_SHAPE,
  durationMs: (ctx) => ctx.options.durations.batchedMs,
}, [
  { key: 'rate', label: 'msgs/s', unit: 'msg/s' },
  { key: 'p50', label: 'p50 (request)', unit: 'ms' },
]);

export const batchedSend100 = sendScenario(3, 'batched100', 'batched send, 100/request, 32 in flight', {
  queue: 'bench-batched', perRequest: 100, inFlight: 32, shape: BATCHED_SHAPE,
  durationMs: (ctx) => ctx.options.durations.batchedMs,
}, [
  { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'batched100.rate' },
  { key: 'p50', label: 'p50 (request)', unit: 'ms' },
]);
