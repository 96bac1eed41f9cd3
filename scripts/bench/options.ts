// What one `make bench` run does: durations, repetitions and which scenarios, from
// flags and environment. Pure, so the choices are testable.

export interface Durations {
  warmupMs: number;
  sequentialMs: number;
  pipelinedMs: number;
  batchedMs: number;
  endToEndMs: number;
  fanoutMs: number;
  /** Load before the leader is killed (the baseline rate). */
  failoverBeforeMs: number;
  /** Longest wait after the kill for the rate to recover. */
  failoverAfterMs: number;
}

export interface BenchOptions {
  quick: boolean;
  /** Repetitions of each timed scenario; the table shows their median. */
  runs: number;
  /** Scenario numbers to run (1..9). */
  scenarios: Set<number>;
  /** Messages drained in scenario 4. */
  drainMessages: number;
  /** Raft log entries a node holds before the restart in scenario 8. */
  recoveryEntries: number;
  /** 1 KiB messages queued for the backlog scenario 9. */
  backlogMessages: number;
  /** Profile the leader with --cpu-prof during scenario 2 instead of the full run. */
  profile: boolean;
  durations: Durations;
  outDir: string;
}

const FULL: Durations = {
  warmupMs: 3000,
  sequentialMs: 3000,
  pipelinedMs: 4000,
  batchedMs: 3000,
  endToEndMs: 4000,
  fanoutMs: 4000,
  failoverBeforeMs: 2500,
  failoverAfterMs: 8000,
};

const QUICK: Durations = {
  warmupMs: 1500,
  sequentialMs: 1500,
  pipelinedMs: 2000,
  batchedMs: 1500,
  endToEndMs: 2000,
  fanoutMs: 2000,
  failoverBeforeMs: 1500,
  failoverAfterMs: 6000,
};

/** The stream scenarios (scripts/bench/scenarios/stream.ts), run with --stream. */
export const STREAM_SCENARIOS = [10, 11, 12];

/** Scenarios 8 and 9 fill a million entries/messages: only with BENCH=all or --all. */
export const HEAVY_SCENARIOS = [8, 9];
const DEFAULT_SCENARIOS = [1, 2, 3, 4, 5, 6, 7];

export function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}

export function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function parseList(text: string): number[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 12) throw new Error(`unknown scenario "${s}" (1..12)`);
    return n;
  });
}

export function parseOptions(argv: readonly string[], env: Record<string, string | undefined>): BenchOptions {
  const quick = argv.includes('--quick') || truthy(env.QUICK);
  const all = argv.includes('--all') || env.BENCH === 'all';
  const only = flagValue(argv, '--only') ?? env.BENCH_ONLY;
  const scenarios = new Set(only !== undefined ? parseList(only) : all ? [...DEFAULT_SCENARIOS, ...HEAVY_SCENARIOS] : DEFAULT_SCENARIOS);
  // --stream (or BENCH_STREAM=1): also the WebSocket stream scenarios 10-12.
  if (argv.includes('--stream') || truthy(env.BENCH_STREAM)) for (const id of STREAM_SCENARIOS) scenarios.add(id);
  const runsText = flagValue(argv, '--runs') ?? env.BENCH_RUNS;
  const runs = runsText !== undefined ? Number(runsText) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${runsText}"`);
  const scale = (full: number, quickValue: number) => (quick ? quickValue : full);
  return {
    quick,
    runs,
    scenarios,
    drainMessages: Number(env.BENCH_DRAIN ?? scale(100_000, 30_000)),
    recoveryEntries: Number(env.BENCH_RECOVERY_ENTRIES ?? scale(1_000_000, 100_000)),
    backlogMessages: Number(env.BENCH_BACKLOG_MESSAGES ?? scale(5_000_000, 200_000)),
    profile: argv.includes('--profile') || truthy(env.PROFILE),
    durations: quick ? QUICK : FULL,
    outDir: flagValue(argv, '--out') ?? env.BENCH_OUT ?? 'bench-results',
  };
}
