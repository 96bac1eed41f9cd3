// Scenario 9 (heavy, own cluster, nodes run with --max-old-space-size=512): a backlog of
// `backlogMessages` (default 5,000,000) 1 KiB messages, queued in batches of 100.
// Per node: resident memory per queued message beyond the baseline, the snapshot's size,
// the data dir; then a follower killed with kill -9 and started again (start to ready),
// a follower whose data dir was wiped (start to caught up: InstallSnapshot with the
// retained bodies), and finally the whole backlog drained over the stream, checking that
// every message came back exactly once and that each consumer saw them in send order.
import { rmSync } from 'node:fs';
import { StreamClient } from '../../../src/client/stream.js';
import { directoryBytes } from '../cluster.js';
import { ensureQueue, measured, sleep, type BenchContext } from '../context.js';
import { readRssBytes } from '../cpu.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { nodeIdOf, waitCaughtUp, waitReady } from './cluster-wait.js';
import { fillQueue } from './fill.js';

const QUEUE = 'bench-backlog';
const SETTLE_MS = 3000;
/** The old heap limit of a node is ~4 GiB here; the backlog must fit in far less. */
export const BACKLOG_NODE_ARGS = ['--max-old-space-size=512'];
const CONSUMERS = 4;
const PREFETCH = 256;
const BODY_BYTES = 1024;
/** Long enough that no lease ends while the drain runs: a redelivery would be a duplicate. */
const LEASE_MS = 600_000;

/** Message n's body: its number, then padding to 1 KiB (ASCII). */
export function numberedBody(n: number): string {
  const head = `${n.toString().padStart(10, '0')}:`;
  return head + 'b'.repeat(BODY_BYTES - head.length);
}

function numberOf(body: string): number {
  return Number(body.slice(0, 10));
}

/** The commit order of a message: its id is `<log index>-<position in the batch>` in base 36. */
function commitOrder(id: string): number {
  const dash = id.indexOf('-');
  return parseInt(id.slice(0, dash), 36) * 65_536 + parseInt(id.slice(dash + 1), 36);
}

function rssOfAll(ctx: BenchContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ctx.cluster.nodeIds) {
    const pid = ctx.cluster.pid(id);
    out[id] = pid === undefined ? Number.NaN : readRssBytes(pid) ?? Number.NaN;
  }
  return out;
}

/** The values of unlabelled gauges from one scrape of a node's /metrics (NaN if absent). */
async function gauges<N extends string>(ctx: BenchContext, id: string, names: readonly N[]): Promise<Record<N, number>> {
  const reply = await ctx.link.get(ctx.cluster.httpUrl(id), '/metrics', 5000);
  const lines = reply?.text.split('\n') ?? [];
  const out = {} as Record<N, number>;
  for (const name of names) {
    const line = lines.find((l) => l.startsWith(`${name} `));
    out[name] = line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
  }
  return out;
}

async function followers(ctx: BenchContext): Promise<string[]> {
  const leaderId = nodeIdOf(ctx, await ctx.link.findLeader());
  return ctx.cluster.nodeIds.filter((id) => id !== leaderId);
}

/** Waits until node `id` has applied `index`; returns the ms since `t0`. */
async function waitApplied(ctx: BenchContext, id: string, index: number, t0: number, timeoutMs: number): Promise<number> {
  for (;;) {
    const view = await ctx.link.clusterView(ctx.cluster.httpUrl(id));
    if (view !== undefined && view.appliedIndex >= index) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${id} did not apply index ${index} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface DrainOutcome {
  received: number;
  duplicates: number;
  missing: number;
  outOfOrder: number;
  elapsedMs: number;
}

/** Drains the queue over the stream; every message must come back once, in order per consumer. */
async function drain(ctx: BenchContext, total: number): Promise<DrainOutcome> {
  const client = await StreamClient.connect({ urls: ctx.cluster.nodeIds.map((id) => ctx.cluster.httpUrl(id)), token: ctx.link.token });
  const seen = new Uint8Array(total);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const t0 = performance.now();
  const bar = ctx.progress.start(`drain ${formatNumber(total)} messages`, () => received / total,
    () => `${formatNumber((received * 1000) / Math.max(1, performance.now() - t0))} msg/s`);
  const consumer = async (): Promise<void> => {
    let last = -1;
    const acks: Promise<boolean>[] = [];
    for await (const d of client.consume({ queue: QUEUE }, { prefetch: PREFETCH, visibilityTimeoutMs: LEASE_MS })) {
      // Batches of the fill commit in the order they arrive, not in their numbers' order
      // (32 in flight, retries after 429): FIFO order is the order of the ids.
      const order = commitOrder(d.id);
      if (order <= last) outOfOrder++;
      last = order;
      const n = numberOf(d.body);
      if (seen[n] === 1) duplicates++;
      seen[n] = 1;
      received++;
      acks.push(d.ack());
      if (acks.length >= 4096) await Promise.all(acks.splice(0));
      if (received >= total) break;
    }
    await Promise.all(acks);
  };
  try {
    // Each consumer stops at the total; the others are ended by closing the client.
    await Promise.race(Array.from({ length: CONSUMERS }, consumer));
    while (received < total && performance.now() - t0 < 1_800_000) await sleep(50);
  } finally {
    await client.close();
  }
  const elapsedMs = performance.now() - t0;
  let missing = 0;
  for (let i = 0; i < total; i++) if (seen[i] === 0) missing++;
  bar.done(`${formatNumber(received)} received in ${(elapsedMs / 1000).toFixed(1)} s, ${missing} missing, ${duplicates} duplicates, ${outOfOrder} out of order`);
  return { received, duplicates, missing, outOfOrder, elapsedMs };
}

export const backlog: Scenario = {
  id: 9,
  name: 'backlog',
  nodeArgs: BACKLOG_NODE_ARGS,
  title: (ctx) => `backlog: ${formatCount(ctx.options.backlogMessages)} queued 1 KiB messages (nodes with ${BACKLOG_NODE_ARGS.join(' ')})`,
  metrics: [
    { key: 'perMessage', label: 'resident memory per queued message, from idle (worst node)', unit: 'B' },
    { key: 'marginal', label: 'resident memory per message after the first fifth (worst node)', unit: 'B', ref: 'backlog.perMessage' },
    { key: 'snapshotBytes', label: 'snapshot image (largest node)', unit: 'B' },
    { key: 'restartReady', label: 'follower kill -9 to ready', unit: 'ms', ref: 'backlog.restartReady' },
    { key: 'installCaughtUp', label: 'wiped follower to caught up', unit: 'ms' },
    { key: 'drainRate', label: 'drain over the stream', unit: 'msg/s' },
  ],
  runs: () => 1,
  config: (ctx) => ({ queue: QUEUE, messages: ctx.options.backlogMessages, bodyBytes: BODY_BYTES, fill: 'batches of 100, 32 in flight, numbered bodies', nodeArgs: BACKLOG_NODE_ARGS, drain: `${CONSUMERS} stream consumers, prefetch ${PREFETCH}` }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx) {
    const messages = ctx.options.backlogMessages;
    await sleep(SETTLE_MS);
    const before = rssOfAll(ctx);
    return measured(ctx, async () => {
      // A fifth first, then the rest: the growth between the two is the cost per message
      // without the fixed costs that appear with load (young generation, entry cache).
      const first = Math.floor(messages / 5);
      let fillMs = await fillQueue(ctx, { queue: QUEUE, messages: first, bodyAt: numberedBody });
      await waitCaughtUp(ctx, 600_000);
      await sleep(SETTLE_MS);
      const mid = rssOfAll(ctx);
      fillMs += await fillQueue(ctx, { queue: QUEUE, messages: messages - first, bodyAt: (n) => numberedBody(first + n) });
      await waitCaughtUp(ctx, 600_000);
      await sleep(SETTLE_MS);
      const after = rssOfAll(ctx);
      const perNode: Record<string, Record<string, number>> = {};
      for (const id of ctx.cluster.nodeIds) {
        const g = await gauges(ctx, id, ['mom_raft_snapshot_bytes', 'mom_raft_log_first_index']);
        perNode[id] = {
          rssBeforeBytes: before[id],
          rssAfterBytes: after[id],
          bytesPerMessage: (after[id] - before[id]) / messages,
          rssAtFifthBytes: mid[id],
          marginalBytesPerMessage: (after[id] - mid[id]) / (messages - first),
          snapshotBytes: g.mom_raft_snapshot_bytes,
          logFirstIndex: g.mom_raft_log_first_index,
          dataDirBytes: directoryBytes(ctx.cluster.dataDir(id)),
        };
      }
      ctx.progress.log(`    ${ctx.cluster.nodeIds.map((id) => `${id} ${formatNumber(after[id] / 2 ** 20)} MiB (+${formatNumber(perNode[id].bytesPerMessage)} B/msg from idle, +${formatNumber(perNode[id].marginalBytesPerMessage)} B/msg after the first fifth), snapshot ${formatNumber(perNode[id].snapshotBytes / 2 ** 20)} MiB, data ${formatNumber(perNode[id].dataDirBytes / 2 ** 30)} GiB`).join('; ')}`);

      // A follower killed with kill -9 and started again.
      const commitIndex = (await ctx.link.clusterView(await ctx.link.findLeader()))?.commitIndex ?? 0;
      const [restarted, wiped] = await followers(ctx);
      await ctx.cluster.kill(restarted);
      let t0 = performance.now();
      await ctx.cluster.start(restarted);
      const restartReady = await waitReady(ctx, restarted, 120_000, 5);
      const restartCaughtUp = await waitApplied(ctx, restarted, commitIndex, t0, 300_000);
      ctx.progress.log(`    ${restarted} (kill -9, restart): ready after ${formatNumber(restartReady)} ms, caught up after ${formatNumber(restartCaughtUp)} ms`);

      // A follower whose data dir is gone: it comes back by InstallSnapshot, bodies included.
      await ctx.cluster.kill(wiped);
      rmSync(ctx.cluster.dataDir(wiped), { recursive: true, force: true });
      t0 = performance.now();
      await ctx.cluster.start(wiped);
      const installCaughtUp = await waitApplied(ctx, wiped, commitIndex, t0, 1_800_000);
      const wipedRss = readRssBytes(ctx.cluster.pid(wiped) ?? 0) ?? Number.NaN;
      const restartedRss = readRssBytes(ctx.cluster.pid(restarted) ?? 0) ?? Number.NaN;
      ctx.progress.log(`    ${wiped} (data dir wiped): caught up after ${formatNumber(installCaughtUp)} ms, ${formatNumber(wipedRss / 2 ** 20)} MiB resident (the restarted one: ${formatNumber(restartedRss / 2 ** 20)} MiB), data ${formatNumber(directoryBytes(ctx.cluster.dataDir(wiped)) / 2 ** 30)} GiB`);

      const drained = await drain(ctx, messages);
      if (drained.missing > 0 || drained.duplicates > 0 || drained.outOfOrder > 0) {
        throw new Error(`drain: ${drained.missing} missing, ${drained.duplicates} duplicates, ${drained.outOfOrder} out of order`);
      }
      const afterDrain = rssOfAll(ctx);
      return {
        values: {
          perMessage: Math.max(...Object.values(perNode).map((n) => n.bytesPerMessage)),
          marginal: Math.max(...Object.values(perNode).map((n) => n.marginalBytesPerMessage)),
          snapshotBytes: Math.max(...Object.values(perNode).map((n) => n.snapshotBytes)),
          restartReady,
          installCaughtUp,
          drainRate: (drained.received * 1000) / drained.elapsedMs,
        },
        detail: { perNode, fillMs, commitIndex, restarted, restartCaughtUp, restartedRss, wiped, wipedRss, drained, rssAfterDrain: afterDrain },
      };
    });
  },
};
