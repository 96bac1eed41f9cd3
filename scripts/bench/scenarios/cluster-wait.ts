// Waiting on the cluster between measurements: a node ready, every node caught up.
import type { BenchContext } from '../context.js';
import { sleep } from '../context.js';

/** Polls GET /ready on one node until it answers 200; returns the ms it took. */
export async function waitReady(ctx: BenchContext, id: string, timeoutMs: number, pollMs = 10): Promise<number> {
  const start = performance.now();
  const url = ctx.cluster.httpUrl(id);
  for (;;) {
    const reply = await ctx.link.get(url, '/ready', 500);
    if (reply?.status === 200) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`node ${id} not ready within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** Waits until every node has applied at least `index` (or the leader's commit index). */
export async function waitCaughtUp(ctx: BenchContext, timeoutMs: number, index?: number): Promise<number> {
  const start = performance.now();
  let goal = index;
  if (goal === undefined) {
    const leader = await ctx.link.clusterView(await ctx.link.findLeader());
    goal = leader?.commitIndex ?? 0;
  }
  for (;;) {
    const views = await Promise.all(ctx.cluster.nodeIds.map((id) => ctx.link.clusterView(ctx.cluster.httpUrl(id))));
    if (views.every((v) => v !== undefined && v.appliedIndex >= goal)) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`nodes not caught up to index ${goal} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function nodeIdOf(ctx: BenchContext, origin: string): string {
  const id = ctx.cluster.nodeIds.find((n) => new URL(ctx.cluster.httpUrl(n)).origin === new URL(origin).origin);
  if (id === undefined) throw new Error(`no node serves ${origin}`);
  return id;
}
