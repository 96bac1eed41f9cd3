// The end of a run: the summary table on stdout and the full results as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitInfo, MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import { cpuPerMessageTable } from './cpu-per-message.js';
import { summaryTable, type ScenarioResult } from './results.js';
import { formatDuration } from './table.js';

export interface BenchReport {
  startedAt: string;
  totalMs: number;
  machine: MachineInfo;
  git: CommitInfo;
  config: Omit<BenchOptions, 'scenarios'> & { scenarios: number[] };
  cluster: Record<string, unknown>;
  scenarios: ScenarioResult[];
}

export function timestampName(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function writeReport(report: BenchReport, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${timestampName(new Date(report.startedAt))}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** The per-hop CPU table over the scenarios that move messages. */
export function hopTable(results: readonly ScenarioResult[]): string {
  return cpuPerMessageTable(results.filter((r) => r.cpuUnit !== undefined).map((r) => ({ label: `${r.id} ${r.title}`, unit: r.cpuUnit!, cpu: r.cpuPerMessage })));
}

export function printSummary(report: BenchReport, file: string): void {
  const m = report.machine;
  const out = [
    '',
    `mom-broker bench: ${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, commit ${report.git.commit.slice(0, 10)}${report.git.dirty ? ' (src modified)' : ''}`,
    `3 nodes on loopback, HTTP + JWT + Raft + fsync; 1 KiB bodies; median of ${report.config.runs} run${report.config.runs > 1 ? 's' : ''}${report.config.quick ? ' (QUICK)' : ''}`,
    '',
    summaryTable(report.scenarios),
    '',
    'cpu srv/gen/other: CPU time of the 3 servers / the load generator / other processes, in % of one core over the',
    `runs (the machine has ${m.cores} cores = ${m.cores * 100}%). * = other processes took over 20 % of the machine: figures understate the broker.`,
    '',
    'CPU per message (µs, all runs of a scenario summed): leader = the node leading when a run started, followers by node id;',
    'load gen = this bench process (HTTP client); other = the rest of the machine.',
    hopTable(report.scenarios),
    ...report.scenarios.flatMap((s) => s.notes.map((n) => `note (${s.id}): ${n}`)),
    ...(report.config.scenarios.includes(8) ? [] : ['Scenarios 8 (recovery) and 9 (backlog) run with BENCH=all (make bench BENCH=all).']),
    '',
    `total ${formatDuration(report.totalMs)}; full results in ${file}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
