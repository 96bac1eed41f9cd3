// Scenario 7: kill -9 the leader under the pipelined load (256 in flight). Measured from
// the kill: the first write acknowledged by the new leader, and the moment the rate over
// a 500 ms window is back to 90 % of the rate before the kill. The killed node is then
// started again and caught up before the next run.
import { LeaderPool } from '../client.js';
import { BODY_1KIB, ensureQueue, measured, purge, sendBody, sleep } from '../context.js';
import type { Scenario } from '../scenario.js';
import { meanRate, recoveryTime, Timeline } from '../stats.js';
import { formatNumber } from '../table.js';
import { nodeIdOf, waitCaughtUp, waitReady } from './cluster-wait.js';

const QUEUE = 'bench-failover';
const IN_FLIGHT = 256;
const BUCKET_MS = 100;
const WINDOW_MS = 500;
const RECOVERED = 0.9;

export const failover: Scenario = {
  id: 7,
  name: 'failover',
  cpuUnit: 'sent',
  title: 'failover: kill -9 the leader under 256 in flight',
  metrics: [
    { key: 'firstAck', label: 'to first ack on new leader', unit: 'ms', ref: 'failover.firstAck' },
    { key: 'recovered', label: 'to 90 % throughput', unit: 'ms' },
    { key: 'baseline', label: 'rate before kill', unit: 'msg/s' },
    { key: 'after', label: 'rate in the last 1 s', unit: 'msg/s' },
  ],
  config: (ctx) => ({ queue: QUEUE, inFlight: IN_FLIGHT, bucketMs: BUCKET_MS, recoveryWindowMs: WINDOW_MS, recoveredFraction: RECOVERED, beforeKillMs: ctx.options.durations.failoverBeforeMs, maxAfterKillMs: ctx.options.durations.failoverAfterMs }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx, run, runs) {
    const { failoverBeforeMs, failoverAfterMs } = ctx.options.durations;
    const oldLeader = await ctx.link.findLeader();
    const oldId = nodeIdOf(ctx, oldLeader);
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
    const pool = new LeaderPool(ctx.link, { connections, pipelining: Math.ceil(IN_FLIGHT / connections) });
    const body = sendBody(BODY_1KIB);
    const path = `/v1/queues/${QUEUE}/messages`;
    const start = performance.now();
    const timeline = new Timeline(start, BUCKET_MS);
    let killAt: number | undefined;
    let firstAck: number | undefined;
    let stop = false;
    let errors = 0;
    const errorSamples: string[] = [];
    let phase = 'load';
    const bar = ctx.progress.start(`run ${run + 1}/${runs}`, () => (performance.now() - start) / (failoverBeforeMs + failoverAfterMs), () => phase);

    const worker = async () => {
      while (!stop) {
        const target = pool.target;
        let ok = false;
        let problem = '';
        try {
          const reply = await pool.post(path, body, 10_000);
          ok = reply.status >= 200 && reply.status < 300;
          if (!ok) problem = `HTTP ${reply.status} ${reply.text.slice(0, 80)}`;
        } catch (err) {
          problem = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        }
        const now = performance.now();
        if (ok) {
          timeline.record(now);
          if (killAt !== undefined && firstAck === undefined && target !== oldLeader) firstAck = now;
          continue;
        }
        errors++;
        if (errorSamples.length < 5) errorSamples.push(problem);
        if (killAt !== undefined) await ctx.link.findNewLeader(oldLeader).catch(() => sleep(20));
        else await sleep(5);
      }
    };

    const outcome = await measured(ctx, async () => {
      const workers = Array.from({ length: IN_FLIGHT }, worker);
      await sleep(failoverBeforeMs);
      killAt = performance.now();
      phase = `killed leader ${oldId}`;
      await ctx.cluster.kill(oldId);
      const killMs = killAt - start;
      const baseline = meanRate(timeline.buckets(), BUCKET_MS, Math.min(500, killMs / 2), killMs);
      let recoveredAt: number | undefined;
      while (performance.now() - killAt < failoverAfterMs) {
        await sleep(BUCKET_MS);
        if (firstAck !== undefined) phase = `first ack after ${formatNumber(firstAck - killAt)} ms`;
        recoveredAt = recoveryTime(timeline.buckets(), BUCKET_MS, killMs, baseline, RECOVERED, WINDOW_MS);
        if (recoveredAt !== undefined) break;
      }
      stop = true;
      await Promise.all(workers);
      // The last bucket is cut short by the stop: leave it out.
      const buckets = timeline.buckets().slice(0, -1);
      return {
        messages: timeline.buckets().reduce((sum, b) => sum + b.count, 0),
        values: {
          firstAck: firstAck === undefined ? Number.NaN : firstAck - killAt,
          recovered: recoveredAt === undefined ? Number.NaN : start + recoveredAt - killAt,
          baseline,
          after: meanRate(buckets, BUCKET_MS, buckets.length * BUCKET_MS - 1000, buckets.length * BUCKET_MS),
        },
        detail: {
          // Requests cut off by the kill are expected here, so not reported as errors.
          killedNode: oldId, newLeader: ctx.link.leaderUrl, failedRequests: errors, failureSamples: errorSamples,
          ratesPerBucket: buckets.map((b) => ({ atMs: Math.round(b.atMs - killMs), rate: (b.count * 1000) / BUCKET_MS })),
        },
      };
    });
    bar.done(`first ack on new leader after ${formatNumber(outcome.values.firstAck)} ms, 90 % rate after ${formatNumber(outcome.values.recovered)} ms (baseline ${formatNumber(outcome.values.baseline)} msg/s)`);
    await pool.close();

    // Back to three nodes before the next measurement.
    await ctx.cluster.start(oldId);
    await waitReady(ctx, oldId, 60_000);
    await ctx.link.findLeader();
    await purge(ctx, QUEUE);
    await waitCaughtUp(ctx, 60_000);
    return outcome;
  },
  notes(ctx, runs) {
    const missing = runs.filter((r) => Number.isNaN(r.values.recovered)).length;
    if (missing === 0) return [];
    return [`in ${missing} of ${runs.length} runs the rate did not reach 90 % of the rate before the kill within ${ctx.options.durations.failoverAfterMs / 1000} s (see "rate in the last 1 s")`];
  },
};
