// Scenario 8 (heavy, own cluster): a node holding 1,000,000 Raft log entries and a
// snapshot is killed and started again: time from start to GET /ready = 200 and until it
// has applied everything committed. Every request becomes one log entry, so the log is
// filled with single sends of a 16-byte body (256 in flight); the queue keeps them, so
// the snapshot holds a million small messages.
import { LeaderPool } from '../client.js';
import { directoryBytes } from '../cluster.js';
import { ensureQueue, expectCreated, measured, sendBody, sleep } from '../context.js';
import { closedLoop, type LoadState } from '../load.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { nodeIdOf, waitCaughtUp, waitReady } from './cluster-wait.js';

const QUEUE = 'bench-recovery';
const SMALL_BODY = 's'.repeat(16);

interface LogFill {
  elapsedMs: number;
  commitIndex: number;
  sent: number;
  errors: number;
  errorSamples: string[];
}

async function fillLog(ctx: Parameters<Scenario['run']>[0], entries: number): Promise<LogFill> {
  const pool = new LeaderPool(ctx.link, { connections: 64, pipelining: 4 });
  const body = sendBody(SMALL_BODY);
  let commitIndex = (await ctx.link.clusterView(ctx.link.leaderUrl))?.commitIndex ?? 0;
  const state: LoadState = { startedAt: performance.now(), messages: 0, errors: 0 };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const view = await ctx.link.clusterView(ctx.link.leaderUrl);
      if (view !== undefined) commitIndex = view.commitIndex;
      await sleep(250);
    }
  })();
  const bar = ctx.progress.start(`fill ${formatNumber(entries)} log entries`, () => commitIndex / entries,
    () => `index ${formatNumber(commitIndex)}, ${formatNumber((state.messages * 1000) / Math.max(1, performance.now() - state.startedAt))} entries/s`);
  try {
    const result = await closedLoop({
      concurrency: 256,
      durationMs: 3_600_000,
      done: () => commitIndex >= entries,
      op: async () => {
        const reply = await pool.post(`/v1/queues/${QUEUE}/messages`, body);
        expectCreated(reply.status, reply.text, 'fill');
        return 1;
      },
    }, state);
    bar.done(`log at index ${formatNumber(commitIndex)} after ${(result.elapsedMs / 1000).toFixed(1)} s (${formatNumber(result.rate)} sends/s, ${result.errors} errors${result.errors > 0 ? `, e.g. ${result.errorSamples[0]}` : ''})`);
    return { elapsedMs: result.elapsedMs, commitIndex, sent: result.messages, errors: result.errors, errorSamples: result.errorSamples };
  } finally {
    polling = false;
    await poller;
    await pool.close();
  }
}

/** How the log was filled (setup), kept with every run's result. */
let recoveryFill: LogFill | undefined;

export const recovery: Scenario = {
  id: 8,
  name: 'recovery',
  title: (ctx) => `recovery: restart a node with ${formatCount(ctx.options.recoveryEntries)} log entries`,
  metrics: [
    { key: 'ready', label: 'start to ready', unit: 'ms', ref: 'recovery.ready' },
    { key: 'caughtUp', label: 'start to caught up', unit: 'ms' },
  ],
  config: (ctx) => ({ queue: QUEUE, entries: ctx.options.recoveryEntries, fill: 'single sends of a 16-byte body, 256 in flight, messages stay queued', killed: 'a follower, kill -9' }),
  async setup(ctx) {
    await ensureQueue(ctx, QUEUE);
    recoveryFill = await fillLog(ctx, ctx.options.recoveryEntries);
    await waitCaughtUp(ctx, 120_000);
  },
  async run(ctx, run, runs) {
    const leader = await ctx.link.findLeader();
    const leaderId = nodeIdOf(ctx, leader);
    const followers = ctx.cluster.nodeIds.filter((id) => id !== leaderId);
    const victim = followers[run % followers.length];
    const commitIndex = (await ctx.link.clusterView(leader))?.commitIndex ?? 0;
    await ctx.cluster.kill(victim);
    const bar = ctx.progress.start(`run ${run + 1}/${runs}: restart ${victim}`, () => 0.5);
    const outcome = await measured(ctx, async () => {
      const t0 = performance.now();
      await ctx.cluster.start(victim);
      await waitReady(ctx, victim, 120_000, 5);
      const readyAt = performance.now() - t0;
      let caughtUp = Number.NaN;
      for (;;) {
        const view = await ctx.link.clusterView(ctx.cluster.httpUrl(victim));
        if (view !== undefined && view.appliedIndex >= commitIndex) { caughtUp = performance.now() - t0; break; }
        if (performance.now() - t0 > 120_000) break;
        await sleep(5);
      }
      return { values: { ready: readyAt, caughtUp }, detail: { node: victim, commitIndex, dataDirBytes: directoryBytes(ctx.cluster.dataDir(victim)), fill: recoveryFill } };
    });
    bar.done(`${victim}: ready after ${formatNumber(outcome.values.ready)} ms, caught up after ${formatNumber(outcome.values.caughtUp)} ms`);
    return outcome;
  },
};

