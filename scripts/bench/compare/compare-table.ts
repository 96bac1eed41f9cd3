// The side-by-side table of `make bench-compare`: per row this broker and RabbitMQ
// (medians of the runs), the throughput ratio, and the servers' and the client's CPU
// per message. Pure, so the figures and the layout are tested without a cluster.
import { cpuPerMessage, cpuPerMessageTable, type CpuPerMessage, type CpuTableRow } from '../cpu-per-message.js';
import type { RunOutcome } from '../results.js';
import { median } from '../stats.js';
import { formatNumber, formatTable } from '../table.js';

export type Latency = 'p50' | 'p99';

export interface SideSummary {
  runs: number;
  /** Medians over the runs. */
  rate: number;
  p50: number;
  p99: number;
  /** µs of server CPU per message (all nodes), median of the runs' values. */
  serverUs: number;
  /** µs of the load generator's CPU per message, median of the runs' values. */
  clientUs: number;
  /** Runs where other processes took a large share of the machine. */
  contendedRuns: number;
  /** Per hop, all runs summed. */
  hops?: CpuPerMessage;
  /** Set when a run failed; the figures are then from the runs before it. */
  failed?: string;
}

export interface CompareRowResult {
  id: number;
  title: string;
  /** What one message is in this row, e.g. "sent". */
  unit: string;
  latency: Latency[];
  ours: SideSummary;
  rabbit: SideSummary;
}

/** µs per message of one run, NaN when it moved nothing or measured no CPU. */
function perMessageUs(run: RunOutcome, pick: (cpuMs: { servers: number; client: number }) => number): number {
  if (run.cpu === undefined || run.messages === undefined || run.messages <= 0) return Number.NaN;
  return (pick({ servers: run.cpu.serversTotalMs, client: run.cpu.loadGenMs }) * 1000) / run.messages;
}

const finiteMedian = (values: number[]) => median(values.filter((v) => Number.isFinite(v)));

export function summarizeSide(runs: readonly RunOutcome[], failed?: string): SideSummary {
  const value = (key: string) => finiteMedian(runs.map((r) => r.values[key] ?? Number.NaN));
  return {
    runs: runs.length,
    rate: value('rate'),
    p50: value('p50'),
    p99: value('p99'),
    serverUs: finiteMedian(runs.map((r) => perMessageUs(r, (c) => c.servers))),
    clientUs: finiteMedian(runs.map((r) => perMessageUs(r, (c) => c.client))),
    contendedRuns: runs.filter((r) => r.cpu?.contended === true).length,
    hops: cpuPerMessage(runs.flatMap((r) => (r.cpu !== undefined && r.messages !== undefined ? [{ cpu: r.cpu, messages: r.messages, leaderId: r.leaderId }] : []))),
    failed,
  };
}

/** This broker's rate over RabbitMQ's (NaN when either is missing). */
export function ratio(ours: number, theirs: number): number {
  return Number.isFinite(ours) && Number.isFinite(theirs) && theirs > 0 ? ours / theirs : Number.NaN;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '-';
}

/** "772 msg/s, p50 1.03 ms, p99 6.10 ms", or why there is no figure. */
export function sideCell(side: SideSummary, latency: readonly Latency[]): string {
  if (side.runs === 0) return side.failed === undefined ? '-' : `FAILED: ${side.failed.slice(0, 60)}`;
  const parts = [`${formatNumber(side.rate)} msg/s`];
  for (const l of latency) if (Number.isFinite(side[l])) parts.push(`${l} ${formatNumber(side[l])} ms`);
  const marks = `${side.contendedRuns > 0 ? ' *' : ''}${side.failed !== undefined ? ' (incomplete)' : ''}`;
  return parts.join(', ') + marks;
}

function usCell(ours: number, theirs: number): string {
  const f = (v: number) => (Number.isFinite(v) ? `${formatNumber(v)} µs` : '-');
  return `${f(ours)} vs ${f(theirs)}`;
}

export function compareTable(rows: readonly CompareRowResult[]): string {
  return formatTable(
    ['scenario', 'this broker', 'RabbitMQ QQ', 'ratio', 'server CPU/msg (3 nodes)', 'client CPU/msg'],
    rows.map((r) => [
      `${r.id} ${r.title}`,
      sideCell(r.ours, r.latency),
      sideCell(r.rabbit, r.latency),
      formatRatio(ratio(r.ours.rate, r.rabbit.rate)),
      usCell(r.ours.serverUs, r.rabbit.serverUs),
      usCell(r.ours.clientUs, r.rabbit.clientUs),
    ]),
    ['left', 'left', 'left', 'right', 'right', 'right'],
  );
}

/** The per-hop CPU of both systems, a line each per row. */
export function hopsTable(rows: readonly CompareRowResult[]): string {
  const lines: CpuTableRow[] = rows.flatMap((r) => [
    { label: `${r.id} ${r.title}: this broker`, unit: r.unit, cpu: r.ours.hops },
    { label: `${r.id} ${r.title}: RabbitMQ`, unit: r.unit, cpu: r.rabbit.hops },
  ]);
  return cpuPerMessageTable(lines);
}
