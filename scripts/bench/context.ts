// What every scenario gets: the options, the cluster it may kill and restart, the link
// to the leader, the progress bar, and the CPU accounting around each run.
import type { BrokerLink } from './client.js';
import type { BenchCluster } from './cluster.js';
import { cpuBetween, readPeakRssBytes, sampleCpu } from './cpu.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import type { RunOutcome } from './results.js';
import { parseRaftCounters, raftActivity, type RaftActivity, type RaftCounters } from './raft-metrics.js';

export interface BenchContext {
  options: BenchOptions;
  cluster: BenchCluster;
  link: BrokerLink;
  progress: Progress;
  /** Set by measured(): the monotonic span (µs) of the last measured run, so a profile
   *  can leave out a scenario's fill and setup. */
  measuredWindow?: { fromUs: number; toUs: number };
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

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

async function scrapeRaft(ctx: BenchContext): Promise<Record<string, RaftCounters | undefined>> {
  const entries = await Promise.all(ctx.cluster.nodeIds.map(async (id) => {
    const reply = await ctx.link.get(ctx.cluster.httpUrl(id), '/metrics', 2000);
    return [id, reply?.status === 200 ? parseRaftCounters(reply.text) : undefined] as const;
  }));
  return Object.fromEntries(entries);
}

/**
 * Runs one measured run with the CPU of servers, load generator and others around it,
 * and each node's Raft activity (fsyncs, entries per fsync) from its /metrics.
 */
export async function measured(ctx: BenchContext, run: () => Promise<Omit<RunOutcome, 'cpu' | 'leaderId'>>): Promise<RunOutcome> {
  const pids = serverPids(ctx.cluster);
  const leaderId = ctx.cluster.nodeIds.find((id) => new URL(ctx.cluster.httpUrl(id)).origin === ctx.link.leaderUrl);
  const raftBefore = await scrapeRaft(ctx);
  const termBefore = (await ctx.link.clusterView(ctx.link.leaderUrl))?.term;
  const before = sampleCpu(pids);
  const fromUs = monotonicUs();
  const outcome = await run();
  ctx.measuredWindow = { fromUs, toUs: monotonicUs() };
  const after = sampleCpu(pids);
  const raftAfter = await scrapeRaft(ctx);
  const termAfter = await highestTerm(ctx);
  const cpu = cpuBetween(before, after);
  // Memory beside CPU: a setting that saves CPU by holding more (the young generation,
  // the old generation's growth) shows its price here.
  const peakRssMb: Record<string, number> = {};
  for (const [id, pid] of Object.entries(pids)) {
    const bytes = pid === undefined ? undefined : readPeakRssBytes(pid);
    if (bytes !== undefined) peakRssMb[id] = Math.round(bytes / (1024 * 1024));
  }
  const raft: Record<string, RaftActivity> = {};
  for (const id of ctx.cluster.nodeIds) {
    const b = raftBefore[id];
    const a = raftAfter[id];
    if (a !== undefined && b !== undefined) raft[id] = raftActivity(b, a, cpu.wallMs);
  }
  return { ...outcome, detail: { ...outcome.detail, raft, cpuPerNodeMs: cpu.serversMs, peakRssMb, termBefore, termAfter }, cpu, leaderId };
}

async function highestTerm(ctx: BenchContext): Promise<number | undefined> {
  const views = await Promise.all(ctx.cluster.nodeIds.map((id) => ctx.link.clusterView(ctx.cluster.httpUrl(id))));
  const terms = views.flatMap((v) => (v === undefined ? [] : [v.term]));
  return terms.length === 0 ? undefined : Math.max(...terms);
}

/** One line on the leader's group commit, for the progress output. */
export function raftLine(ctx: BenchContext, outcome: RunOutcome): string {
  const leaderId = ctx.cluster.nodeIds.find((id) => new URL(ctx.cluster.httpUrl(id)).origin === ctx.link.leaderUrl);
  const raft = (outcome.detail.raft ?? {}) as Record<string, RaftActivity>;
  const leader = leaderId === undefined ? undefined : raft[leaderId];
  if (leader === undefined) return '';
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n >= 10 ? 0 : 1) : '-');
  const peak = (outcome.detail.peakRssMb ?? {}) as Record<string, number>;
  const memory = Object.keys(peak).sort().map((id) => `${id} ${peak[id]}`).join(', ');
  return `leader ${leaderId}: ${f(leader.fsyncsPerSecond)} fsync/s of ${f(leader.fsyncMeanMs)} ms, ${f(leader.entriesPerFsync)} entries/fsync, propose-to-apply ${f(leader.commitMeanMs)} ms; peak RSS MB ${memory}`;
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
