// One chaos run: fresh cluster behind link proxies, workload plus seeded faults, then
// heal, wait for readiness, drain, and judge the history. Used by scripts/chaos.ts and
// by the jest chaos test.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { checkHistory, type CheckResult } from './checker.js';
import type { ClusterControl, UnexpectedExit } from './cluster-control.js';
import { ClusterView, compareStaleState, type ConvergenceReport, type StateAgreement } from './cluster-view.js';
import { FaultRunner, type FaultRecord } from './fault-runner.js';
import { HistoryRecorder } from './history.js';
import type { HistoryOp } from './ops.js';
import { BrokerHttpClient } from './http-client.js';
import { createPrng } from './prng.js';
import { DUMP_RESERVE_MS, PHASE_BUDGET_MS, PhaseTimeoutError, withDeadline, type ChaosPhase } from './phase-deadline.js';
import { LinkMesh, type LinkStats } from './proxy.js';
import { FAULT_KINDS, planFaults, type FaultEpisode, type FaultKind } from './schedule.js';
import { dumpState } from './state-dump.js';
import { Workload } from './workload.js';

export interface StartClusterOptions {
  nodes: number;
  /** Per-link address override: node `from` dials the returned address to reach `to`. */
  peerAddress: (fromId: string, toId: string, realAddress: string) => string;
}

export interface ChaosOptions {
  nodes: number;
  seed: number;
  durationMs: number;
  outDir: string;
  startCluster: (opts: StartClusterOptions) => Promise<ClusterControl>;
  /** Progress and fault lines (default: nothing). */
  log?: (line: string) => void;
  progressEveryMs?: number;
  /** Set to abort early (Ctrl-C): faults stop, the run still heals and checks. */
  abort?: AbortSignal;
  producers?: number;
  /** Keep data dirs and node logs when the run fails (default true). */
  keepDataOnFailure?: boolean;
  /** Recorded in the report only (the cluster starter applies it). */
  leaderMode?: string;
  /** How the workload's producers and consumers talk to the cluster (default rest). */
  transport?: 'rest' | 'stream';
  /** Overrides of the phases' deadlines (default PHASE_BUDGET_MS, `faults` on top of
   *  durationMs). A phase past its deadline fails the run with a PhaseTimeoutError that
   *  carries a state dump (also written next to the results as <base>.stuck.txt). */
  phaseBudgetsMs?: Partial<Record<ChaosPhase, number>>;
  /** An absolute time (Date.now()) by which the run must have failed or finished: every
   *  phase's deadline is cut to it, less DUMP_RESERVE_MS for the dump and cleanup. */
  deadline?: number;
}

export interface ChaosReport {
  seed: number;
  /** How followers handled writes, when the runner knows it. */
  leaderMode?: string;
  transport?: string;
  nodes: number;
  durationMs: number;
  startedAt: string;
  finishedAt: string;
  valid: boolean;
  violations: string[];
  plan: FaultEpisode[];
  faults: FaultRecord[];
  faultCounts: Partial<Record<FaultKind, number>>;
  /** Per fault kind: the longest time from a fault's start to the next acknowledged write. */
  failover: Partial<Record<FaultKind, { maxMs: number; meanMs: number }>>;
  missingFaultKinds: FaultKind[];
  notReadyAfterHeal: string[];
  drain: { drained: boolean; quietTargets: number; emptyPerLeader: boolean; targets: number };
  /** Leader's stats per target after the drain (undefined if it could not be read). */
  residual: Record<string, { ready: number; inflight: number; delayed: number }> | undefined;
  convergence: ConvergenceReport;
  stateAgreement: StateAgreement;
  check: CheckResult;
  links: Record<string, LinkStats>;
  timeline: { trafficStartMs: number; faultsEndMs: number; trafficEndMs: number; endMs: number };
  unexpectedExits: UnexpectedExit[];
  /** Data dirs and node logs (kept when the run failed). */
  dataRoot: string;
  historyFile: string;
  resultsFile: string;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const clock = (): number => Date.now() - t0;
  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  await mkdir(opts.outDir, { recursive: true });
  const base = join(opts.outDir, `${stamp}-seed${opts.seed}-n${opts.nodes}`);
  const historyFile = `${base}.history.jsonl`;
  const resultsFile = `${base}.json`;

  const plan = planFaults({ seed: opts.seed, nodeCount: opts.nodes, durationMs: opts.durationMs });
  const mesh = await LinkMesh.prepare(opts.nodes);
  let cluster: ClusterControl | undefined;
  const history = new HistoryRecorder(clock, historyFile);
  // Workload randomness is seeded too, though timing makes runs differ anyway.
  const workloadRandom = createPrng(opts.seed ^ 0x5eed);
  let client: BrokerHttpClient | undefined;
  let workload: Workload | undefined;
  let faults: FaultRunner | undefined;
  let ids: string[] = [];
  // Until a passing verdict, keep data dirs and node logs for reading.
  let keepData = opts.keepDataOnFailure !== false;
  // Set when a phase missed its deadline: the work still going on in the background
  // (waits, retries, faults) stops instead of running on against dead nodes.
  const halt = new AbortController();
  /** Runs one phase under its deadline; past it, the run fails with a state dump. */
  const phase = async <T>(name: ChaosPhase, work: () => Promise<T>): Promise<T> => {
    const own = opts.phaseBudgetsMs?.[name] ?? PHASE_BUDGET_MS[name] + (name === 'faults' ? opts.durationMs : 0);
    const budgetMs = opts.deadline === undefined ? own : Math.min(own, opts.deadline - DUMP_RESERVE_MS - Date.now());
    try {
      return await withDeadline(name, budgetMs, work);
    } catch (err) {
      // A fault episode over its own deadline comes up as the faults phase's error.
      if (!(err instanceof PhaseTimeoutError) || err.dump !== undefined) throw err;
      const dump = await withDeadline('state dump', DUMP_RESERVE_MS / 2, () => dumpState({
        phase: err.phase, budgetMs: err.budgetMs, clock, nodeIds: ids, cluster, client, mesh, plan, faults, history,
        streamClients: () => workload?.streamStates() ?? [],
      })).catch((dumpErr: unknown) => `(state dump failed: ${String(dumpErr)})`);
      halt.abort();
      log(dump);
      await writeFile(`${base}.stuck.txt`, `${dump}\n`).catch(() => undefined);
      throw new PhaseTimeoutError(err.phase, err.budgetMs, dump);
    }
  };
  try {
    const { urls, view } = await phase('start', async () => {
      cluster = await opts.startCluster({ nodes: opts.nodes, peerAddress: mesh.peerAddress });
      ids = [...cluster.nodeIds];
      const nodeUrls = new Map(ids.map((id) => [id, cluster!.httpUrl(id)]));
      client = new BrokerHttpClient([...nodeUrls.values()], workloadRandom.next);
      const clusterView = new ClusterView(client, nodeUrls, halt.signal);
      const notReadyAtStart = await clusterView.waitReady(ids, Date.now() + 60_000);
      if (notReadyAtStart.length > 0) throw new Error(`nodes never became ready: ${notReadyAtStart.join(', ')}`);
      log(`cluster up: ${ids.map((id) => `${id}=${nodeUrls.get(id)}`).join(' ')}`);
      return { urls: nodeUrls, view: clusterView };
    });
    if (cluster === undefined || client === undefined) throw new Error('unreachable: the start phase sets the cluster and client');
    const running = cluster;
    const http = client;

    const work = new Workload({ client: http, history, random: workloadRandom.next, producers: opts.producers, transport: opts.transport, urls: [...urls.values()], halt: halt.signal });
    workload = work;
    await phase('setup', () => work.setup(Date.now() + 60_000));
    const trafficStartMs = clock();
    work.startTraffic();

    const runner = new FaultRunner({ cluster: running, mesh, view, clock, log });
    faults = runner;
    const aborted = (): boolean => opts.abort?.aborted === true || halt.signal.aborted;
    const progress = setInterval(() => {
      const c = history.counts;
      const started = runner.records.length;
      log(`[${(clock() / 1000).toFixed(0).padStart(4)} s] faults ${started}/${plan.length} (${runner.faultyNow} active) · ops ok ${c.ok} · failed ${c.fail} · unknown ${c.info}`);
    }, opts.progressEveryMs ?? 5000);
    try {
      await phase('faults', async () => {
        // One episode of each kind comes first in every plan and always runs.
        await runner.run(plan, aborted, Date.now() + opts.durationMs, FAULT_KINDS.length);
        while (!aborted() && clock() < trafficStartMs + opts.durationMs) await sleep(100);
      });
    } finally {
      clearInterval(progress);
    }
    const faultsEndMs = clock();
    log('healing: links, paused and killed nodes');
    const notReadyAfterHeal = await phase('heal', async () => {
      await runner.healAll();
      // A node that died on its own is started again so the drain and checks can run.
      for (const id of ids) await running.start(id);
      return view.waitReady(ids, Date.now() + 60_000);
    });
    await phase('stop-producers', () => work.stopProducers());
    const trafficEndMs = clock();
    log(`producers stopped; draining ${work.targets.length} queues/subscriptions`);
    const { drain, residual } = await phase('drain', async () => ({ drain: await work.drain(Date.now() + 120_000), residual: await work.residual() }));
    const { convergence, stateAgreement } = await phase('check', async () => {
      const converged = await view.waitConverged(ids, Date.now() + 30_000);
      const agreement = await compareStaleState(http, urls, work.authToken, work.statePaths, Date.now() + 20_000);
      await history.close();
      return { convergence: converged, stateAgreement: agreement };
    });

    const check = checkHistory({ history: history.ops, window: { from: trafficStartMs, to: trafficEndMs } });
    const failover = failoverByKind(runner.records, history.ops);
    const faultCounts: Partial<Record<FaultKind, number>> = {};
    for (const r of runner.records) if (r.error === undefined) faultCounts[r.kind] = (faultCounts[r.kind] ?? 0) + 1;
    const plannedKinds = new Set(plan.map((e) => e.kind));
    const missingFaultKinds = FAULT_KINDS.filter((k) => plannedKinds.has(k) && faultCounts[k] === undefined);

    const violations = [...check.violations];
    if (notReadyAfterHeal.length > 0) violations.push(`not ready 60 s after healing: ${notReadyAfterHeal.join(', ')}`);
    if (!drain.drained) violations.push(`drain incomplete: ${work.targets.length - drain.quietTargets} target(s) still delivering`);
    if (!convergence.converged) violations.push('replicas did not converge (commit/applied index or state hash differ)');
    if (!stateAgreement.agreed) violations.push('replicas served different queue/subscription state at the same applied index (or never reached one)');
    if (missingFaultKinds.length > 0) violations.push(`fault kinds never injected: ${missingFaultKinds.join(', ')}`);
    if (check.totals.acknowledged === 0) violations.push('no write was ever acknowledged');
    const unexpectedExits = running.unexpectedExits();
    if (unexpectedExits.length > 0) {
      violations.push(`node process(es) exited on their own: ${unexpectedExits.map((e) => `${e.id} at ${(e.atMs / 1000).toFixed(1)} s (code ${e.code}, signal ${e.signal})`).join(', ')}`);
    }

    const report: ChaosReport = {
      seed: opts.seed, ...(opts.leaderMode !== undefined && { leaderMode: opts.leaderMode }), ...(opts.transport !== undefined && { transport: opts.transport }), nodes: opts.nodes, durationMs: opts.durationMs,
      startedAt: new Date(t0).toISOString(), finishedAt: new Date().toISOString(),
      valid: violations.length === 0, violations,
      plan, faults: runner.records, faultCounts, failover, missingFaultKinds, notReadyAfterHeal,
      drain: { ...drain, targets: work.targets.length }, residual,
      convergence, stateAgreement, check, links: mesh.stats(),
      timeline: { trafficStartMs, faultsEndMs, trafficEndMs, endMs: clock() },
      unexpectedExits, dataRoot: running.dataRoot,
      historyFile, resultsFile,
    };
    await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
    keepData = !report.valid && opts.keepDataOnFailure !== false;
    return report;
  } finally {
    halt.abort();
    // Bounded, each step: a run that failed on a deadline still has work going on.
    const cleanup = async (what: string, step: () => Promise<unknown>): Promise<void> => {
      await withDeadline(what, CLEANUP_STEP_MS, step).catch((err: unknown) => log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`));
    };
    await cleanup('stopping the traffic', async () => workload?.abort());
    await cleanup('closing the history', () => history.close());
    await cleanup('cluster shutdown', async () => cluster?.shutdown({ keepData }));
    await cleanup('closing the link proxies', () => mesh.close());
    await cleanup('closing the HTTP client', async () => client?.close());
  }
}

const CLEANUP_STEP_MS = 10_000;

function failoverByKind(records: readonly FaultRecord[], ops: readonly HistoryOp[]): ChaosReport['failover'] {
  const oks = ops.filter((o) => o.type === 'ok' && (o.f === 'send' || o.f === 'publish')).map((o) => o.time).sort((a, b) => a - b);
  const out: ChaosReport['failover'] = {};
  const sums: Partial<Record<FaultKind, { total: number; n: number; max: number }>> = {};
  for (const r of records) {
    if (r.error !== undefined) continue;
    const next = oks.find((t) => t >= r.startedAt);
    if (next === undefined) continue;
    const s = sums[r.kind] ?? { total: 0, n: 0, max: 0 };
    s.total += next - r.startedAt; s.n++; s.max = Math.max(s.max, next - r.startedAt);
    sums[r.kind] = s;
  }
  for (const [kind, s] of Object.entries(sums) as [FaultKind, { total: number; n: number; max: number }][]) {
    out[kind] = { maxMs: s.max, meanMs: Math.round(s.total / s.n) };
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
