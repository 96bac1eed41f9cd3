// What every scenario gets: the options, the cluster it may kill and restart, the link
// to the leader, the progress bar, and the CPU accounting around each run.
import type { BrokerLink } from './client.js';
import type { BenchCluster } from './cluster.js';
import { cpuBetween, sampleCpu } from './cpu.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import type { RunOutcome } from './results.js';

export interface BenchContext {
  options: BenchOptions;
  cluster: BenchCluster;
  link: BrokerLink;
  progress: Progress;
}

/** A 1 KiB message body (ASCII, so 1024 bytes of UTF-8). */
export const BODY_1KIB = 'm'.repeat(1024);

export function sendBody(body: string): string {
  return JSON.stringify({ body });
}

export function batchBody(body: string, count: number): string {
  return JSON.stringify({ messages: Array.from({ length: count }, () => ({ body })) });
}

export function serverPids(cluster: BenchCluster): Record<string, number | undefined> {
  return Object.fromEntries(cluster.nodeIds.map((id) => [id, cluster.pid(id)]));
}

/** Runs one measured run with the CPU of servers, load generator and others around it. */
export async function measured(ctx: BenchContext, run: () => Promise<Omit<RunOutcome, 'cpu'>>): Promise<RunOutcome> {
  const pids = serverPids(ctx.cluster);
  const before = sampleCpu(pids);
  const outcome = await run();
  const after = sampleCpu(pids);
  return { ...outcome, cpu: cpuBetween(before, after) };
}

export async function purge(ctx: BenchContext, queue: string): Promise<void> {
  await ctx.link.json('POST', `/v1/queues/${queue}/purge`, {});
}

export async function ensureQueue(ctx: BenchContext, name: string): Promise<void> {
  await ctx.link.json('POST', '/v1/queues', { name }, [409]);
}

/** Throws unless a write was answered 2xx: a benchmark of failing requests measures nothing. */
export function expectCreated(status: number, text: string, what: string): void {
  if (status < 200 || status >= 300) throw new Error(`${what}: HTTP ${status} ${text.slice(0, 160)}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
