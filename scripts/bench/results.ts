// What a scenario produces and how the summary table is built from it. Pure.
import type { CpuReport } from './cpu.js';
import type { CpuPerMessage } from './cpu-per-message.js';
import { summarizeRuns, type RunSummary } from './stats.js';
import { formatSpread, formatTable, formatWithUnit } from './table.js';
import { meetsTarget, REFERENCES } from './targets.js';

export interface MetricSpec {
  /** Key within the scenario's run values, e.g. `rate`. */
  key: string;
  label: string;
  unit: 'msg/s' | 'ms' | 'B' | '';
  /** Key into REFERENCES (targets and peers), e.g. `pipelined.rate`. */
  ref?: string;
}

export interface RunOutcome {
  /** The figures of one run, keyed by MetricSpec.key. */
  values: Record<string, number>;
  /** Anything else worth keeping in the JSON (counts, errors, percentiles, timelines). */
  detail: Record<string, unknown>;
  cpu?: CpuReport;
  /** Messages the run moved, in the scenario's cpuUnit: the divisor of CPU per message. */
  messages?: number;
  /** The node that led when the run started (its CPU is the leader's column). */
  leaderId?: string;
}

export interface MetricResult extends MetricSpec {
  summary: RunSummary;
}

export interface ScenarioResult {
  id: number;
  name: string;
  title: string;
  config: Record<string, unknown>;
  metrics: MetricResult[];
  runs: RunOutcome[];
  /** Summed CPU of all runs. */
  cpu?: CpuReport;
  /** CPU µs per message by hop over all runs, for scenarios that move messages. */
  cpuPerMessage?: CpuPerMessage;
  /** What one message of cpuPerMessage is, e.g. "sent". */
  cpuUnit?: string;
  notes: string[];
  /** Set when the scenario could not complete; the message says why. */
  failed?: string;
}

export function collectMetrics(specs: readonly MetricSpec[], runs: readonly RunOutcome[]): MetricResult[] {
  return specs.map((spec) => ({ ...spec, summary: summarizeRuns(runs.map((r) => r.values[spec.key] ?? Number.NaN)) }));
}

function cpuCell(cpu: CpuReport | undefined): string {
  if (cpu === undefined || cpu.wallMs <= 0) return '';
  const pct = (ms: number) => `${Math.round((ms / cpu.wallMs) * 100)}%`;
  return `${pct(cpu.serversTotalMs)} / ${pct(cpu.loadGenMs)} / ${pct(cpu.otherMs)}${cpu.contended ? ' *' : ''}`;
}

function targetCell(spec: MetricSpec): string {
  const target = spec.ref === undefined ? undefined : REFERENCES[spec.ref]?.target;
  if (target === undefined) return '';
  return `${target.kind === 'min' ? '>=' : '<'} ${formatWithUnit(target.value, spec.unit)}`;
}

function verdictCell(spec: MetricResult): string {
  const target = spec.ref === undefined ? undefined : REFERENCES[spec.ref]?.target;
  if (target === undefined) return '';
  return meetsTarget(target, spec.summary.median) ? 'met' : 'MISSED';
}

/** The one summary table: a row per metric, targets and peers beside the figures. */
export function summaryTable(results: readonly ScenarioResult[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    if (r.failed !== undefined) {
      rows.push([`${r.id} ${r.title}`, 'FAILED', '', '', '', '', '', r.failed.slice(0, 60)]);
      continue;
    }
    r.metrics.forEach((m, i) => {
      rows.push([
        i === 0 ? `${r.id} ${r.title}` : '',
        m.label,
        formatWithUnit(m.summary.median, m.unit),
        formatSpread(m.summary.spreadPct, m.summary.runs.length),
        targetCell(m),
        verdictCell(m),
        i === 0 ? cpuCell(r.cpu) : '',
        m.ref === undefined ? '' : REFERENCES[m.ref]?.peers ?? '',
      ]);
    });
  }
  return formatTable(
    ['scenario', 'metric', 'median', 'spread', 'target', '', 'cpu srv/gen/other', 'peers (same machine)'],
    rows,
    ['left', 'left', 'right', 'right', 'left', 'left', 'right', 'left'],
  );
}

