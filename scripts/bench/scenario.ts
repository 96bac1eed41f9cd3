// The shape of one scenario, and the runner that repeats it and collects the figures.
import { sumCpu } from './cpu.js';
import { cpuPerMessage, type CpuRun } from './cpu-per-message.js';
import type { BenchContext } from './context.js';
import { collectMetrics, type MetricSpec, type RunOutcome, type ScenarioResult } from './results.js';

export interface Scenario {
  id: number;
  name: string;
  title: string | ((ctx: BenchContext) => string);
  metrics: MetricSpec[];
  /** Node options for the scenario's own cluster (heavy scenarios only), e.g. V8 heap limits. */
  nodeArgs?: string[];
  /** What RunOutcome.messages counts, for the CPU-per-message table (e.g. "sent"). */
  cpuUnit?: string;
  config(ctx: BenchContext): Record<string, unknown>;
  /** Repetitions; defaults to options.runs. */
  runs?(ctx: BenchContext): number;
  setup?(ctx: BenchContext): Promise<void>;
  run(ctx: BenchContext, run: number, runs: number): Promise<RunOutcome>;
  notes?(ctx: BenchContext, runs: RunOutcome[]): string[];
}

export async function runScenario(ctx: BenchContext, scenario: Scenario): Promise<ScenarioResult> {
  const runs: RunOutcome[] = [];
  const title = typeof scenario.title === 'string' ? scenario.title : scenario.title(ctx);
  const base = { id: scenario.id, name: scenario.name, title, config: scenario.config(ctx) };
  ctx.progress.log(`${scenario.id}. ${title}`);
  try {
    await scenario.setup?.(ctx);
    const count = scenario.runs?.(ctx) ?? ctx.options.runs;
    for (let i = 0; i < count; i++) runs.push(await scenario.run(ctx, i, count));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.progress.log(`  failed: ${message}`);
    return { ...base, metrics: collectMetrics(scenario.metrics, runs), runs, cpu: sumCpu(runs.flatMap((r) => (r.cpu ? [r.cpu] : []))), notes: [], failed: message };
  }
  return {
    ...base,
    metrics: collectMetrics(scenario.metrics, runs),
    runs,
    cpu: sumCpu(runs.flatMap((r) => (r.cpu ? [r.cpu] : []))),
    cpuPerMessage: cpuPerMessage(cpuRuns(runs)),
    cpuUnit: scenario.cpuUnit,
    notes: [...errorNotes(runs), ...(scenario.id === 7 ? [] : electionNotes(runs)), ...(scenario.notes?.(ctx, runs) ?? [])],
  };
}

/** The runs that measured CPU and moved messages. */
export function cpuRuns(runs: readonly RunOutcome[]): CpuRun[] {
  return runs.flatMap((r) => (r.cpu !== undefined && r.messages !== undefined ? [{ cpu: r.cpu, messages: r.messages, leaderId: r.leaderId }] : []));
}

/** Failed requests are part of the result: the table says how many and why. */
export function errorNotes(runs: readonly RunOutcome[]): string[] {
  let errors = 0;
  const samples: string[] = [];
  for (const r of runs) {
    const d = r.detail as { errors?: unknown; producerErrors?: unknown; consumerErrors?: unknown; errorSamples?: unknown };
    for (const n of [d.errors, d.producerErrors, d.consumerErrors]) if (typeof n === 'number') errors += n;
    if (Array.isArray(d.errorSamples)) samples.push(...d.errorSamples.map(String));
  }
  if (errors === 0) return [];
  return [`${errors} failed request${errors === 1 ? '' : 's'} over ${runs.length} run${runs.length === 1 ? '' : 's'}${samples.length > 0 ? `, e.g. ${samples[0].slice(0, 140)}` : ''}`];
}

/** Elections nobody asked for (no node was killed) distort a run: say so. */
export function electionNotes(runs: readonly RunOutcome[]): string[] {
  const changed = runs.filter((r) => {
    const { termBefore, termAfter } = r.detail as { termBefore?: unknown; termAfter?: unknown };
    return typeof termBefore === 'number' && typeof termAfter === 'number' && termAfter > termBefore;
  });
  if (changed.length === 0) return [];
  const spans = changed.map((r) => `${String(r.detail.termBefore)}->${String(r.detail.termAfter)}`).join(', ');
  return [`the Raft term rose during ${changed.length} of ${runs.length} runs (${spans}) with every node up: elections under load`];
}
