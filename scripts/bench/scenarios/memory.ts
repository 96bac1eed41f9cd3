// Scenario 9 (heavy, own cluster): resident memory (VmRSS) of every node before and
// after queueing 1,000,000 1 KiB messages, and the per-message overhead beyond the body:
// (rss after - rss before) / messages - 1024. The worst node is the figure.
import { BODY_1KIB, ensureQueue, measured, sleep } from '../context.js';
import { directoryBytes } from '../cluster.js';
import { readRssBytes } from '../cpu.js';
import type { Scenario } from '../scenario.js';
import { formatCount, formatNumber } from '../table.js';
import { waitCaughtUp } from './cluster-wait.js';
import { fillQueue } from './fill.js';

const QUEUE = 'bench-memory';
const SETTLE_MS = 3000;

function rssOfAll(ctx: Parameters<Scenario['run']>[0]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ctx.cluster.nodeIds) {
    const pid = ctx.cluster.pid(id);
    out[id] = pid === undefined ? Number.NaN : readRssBytes(pid) ?? Number.NaN;
  }
  return out;
}

export const memory: Scenario = {
  id: 9,
  name: 'memory',
  title: (ctx) => `memory: ${formatCount(ctx.options.memoryMessages)} queued 1 KiB messages`,
  metrics: [
    { key: 'overhead', label: 'bytes/message beyond body (worst node)', unit: 'B', ref: 'memory.overhead' },
    { key: 'rssMax', label: 'VmRSS (largest node)', unit: 'B' },
  ],
  runs: () => 1,
  config: (ctx) => ({ queue: QUEUE, messages: ctx.options.memoryMessages, bodyBytes: BODY_1KIB.length, fill: 'batches of 100, 32 in flight', settleMs: SETTLE_MS }),
  setup: (ctx) => ensureQueue(ctx, QUEUE),
  async run(ctx) {
    const messages = ctx.options.memoryMessages;
    await sleep(SETTLE_MS);
    const before = rssOfAll(ctx);
    return measured(ctx, async () => {
      const fillMs = await fillQueue(ctx, { queue: QUEUE, messages, body: BODY_1KIB });
      await waitCaughtUp(ctx, 300_000);
      await sleep(SETTLE_MS);
      const after = rssOfAll(ctx);
      const perNode = Object.fromEntries(ctx.cluster.nodeIds.map((id) => [id, {
        rssBeforeBytes: before[id], rssAfterBytes: after[id],
        overheadBytesPerMessage: (after[id] - before[id]) / messages - BODY_1KIB.length,
        dataDirBytes: directoryBytes(ctx.cluster.dataDir(id)),
      }]));
      const overheads = Object.values(perNode).map((n) => n.overheadBytesPerMessage);
      const queue = await ctx.link.json<{ stats: unknown }>('GET', `/v1/queues/${QUEUE}`);
      ctx.progress.log(`    ${ctx.cluster.nodeIds.map((id) => `${id} ${formatNumber(after[id] / 2 ** 20)} MiB (+${formatNumber(perNode[id].overheadBytesPerMessage)} B/msg)`).join(', ')}`);
      return {
        values: { overhead: Math.max(...overheads), rssMax: Math.max(...Object.values(after)) },
        detail: { perNode, fillMs, queueStats: queue.stats },
      };
    });
  },
};
