// The fault plan: which faults happen when, fixed by the seed. Pure. Targets that depend
// on the live cluster (who leads right now) are named by role and resolved by the runner
// at the moment the fault starts, using the episode's own `pick` so the choice among
// candidates is still seed-determined.
import { createPrng } from './prng.js';

export const FAULT_KINDS = [
  'kill-random',      // kill -9 a random node, restart it after holdMs
  'kill-leader',      // kill -9 the leader, restart it after holdMs
  'pause-leader',     // SIGSTOP the leader for holdMs (> the election timeout), then SIGCONT
  'isolate-leader',   // cut every link of the leader both ways
  'isolate-follower', // cut every link of one follower both ways
  'one-way-loss',     // drop everything into (or out of) one node, the other way works
  'slow-node',        // add latency to every link of one node
  'rolling-restart',  // graceful restart of every node, one at a time, each back before the next
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEpisode {
  id: number;
  kind: FaultKind;
  /** Planned start, ms after the fault phase began. */
  startMs: number;
  /** How long the fault is held (rolling restart: the pause between nodes). */
  holdMs: number;
  /** Nodes it makes faulty at once. */
  nodes: number;
  /** Whether nothing else may run alongside it. */
  exclusive: boolean;
  /** In [0, 1): chooses among the candidate nodes at runtime. */
  pick: number;
  /** one-way-loss: drop traffic into the node or out of it. */
  direction?: 'in' | 'out';
  /** slow-node: added latency per chunk. */
  delayMs?: number;
}

export interface PlanOptions {
  seed: number;
  nodeCount: number;
  durationMs: number;
  /** Raft election timeout upper bound; a pause must outlast it. */
  electionTimeoutMs?: number;
}

/** The most nodes that may be faulty at once: a minority. */
export const faultBudget = (nodeCount: number): number => Math.floor((nodeCount - 1) / 2);

const HOLD: Record<FaultKind, [number, number]> = {
  'kill-random': [1500, 5000],
  'kill-leader': [1500, 5000],
  'pause-leader': [1000, 4000],
  'isolate-leader': [2000, 6000],
  'isolate-follower': [2000, 6000],
  'one-way-loss': [2000, 6000],
  'slow-node': [2000, 5000],
  'rolling-restart': [500, 1500],
};
const GAP: [number, number] = [1000, 3000];
const WARMUP_MS = 2000;
/** Rough cost of a rolling restart per node (restart + catch-up), for fitting the plan. */
const RESTART_ESTIMATE_MS = 2500;

export function planFaults(opts: PlanOptions): FaultEpisode[] {
  const { nodeCount, durationMs } = opts;
  if (nodeCount < 3) throw new Error('chaos needs at least 3 nodes (a 1-node fault budget)');
  const budget = faultBudget(nodeCount);
  const minPause = Math.max(1000, Math.ceil((opts.electionTimeoutMs ?? 600) * 1.5));
  const prng = createPrng(opts.seed);

  // Shrink holds and gaps so that one episode of every kind fits in about 80% of a
  // short run; long runs use the full ranges.
  const mean = (r: [number, number]): number => (r[0] + r[1]) / 2;
  const firstCycle = FAULT_KINDS.reduce((a, k) => a + mean(HOLD[k]) + mean(GAP), WARMUP_MS)
    + nodeCount * RESTART_ESTIMATE_MS;
  const scale = Math.max(0.3, Math.min(1, (0.8 * durationMs) / firstCycle));
  const scaled = (r: [number, number], floor = 0): number =>
    Math.max(floor, Math.round(prng.int(r[0], r[1]) * scale));

  const episodes: FaultEpisode[] = [];
  const order: FaultKind[] = prng.shuffle(FAULT_KINDS);
  let t = Math.round(WARMUP_MS * scale);
  let id = 1;
  for (let i = 0; ; i++) {
    const kind = i < order.length ? order[i] : prng.pick(FAULT_KINDS);
    const exclusive = kind === 'rolling-restart';
    const hold = scaled(HOLD[kind], kind === 'pause-leader' ? minPause : 200);
    const planned = exclusive ? nodeCount * (hold + RESTART_ESTIMATE_MS) : hold;
    if (i >= order.length && t + planned > durationMs) break;

    // With room for two faulty nodes, sometimes start during the previous fault.
    let start = t;
    const prev = episodes.at(-1);
    if (budget >= 2 && prev !== undefined && !prev.exclusive && !exclusive && prng.chance(0.4)) {
      start = prev.startMs + Math.round(prng.next() * prev.holdMs * 0.5);
    }
    const episode: FaultEpisode = { id: id++, kind, startMs: start, holdMs: hold, nodes: 1, exclusive, pick: prng.next() };
    if (kind === 'one-way-loss') episode.direction = prng.chance(0.5) ? 'in' : 'out';
    if (kind === 'slow-node') episode.delayMs = prng.int(20, 150);
    if (!fitsBudget(episodes, episode, budget, nodeCount)) episode.startMs = t;
    episodes.push(episode);
    t = Math.max(t, episode.startMs + planned) + scaled(GAP);
  }
  return episodes;
}

/** Planned span of an episode (a rolling restart's is an estimate). */
export function plannedEnd(e: FaultEpisode, nodeCount: number): number {
  return e.startMs + (e.exclusive ? nodeCount * (e.holdMs + RESTART_ESTIMATE_MS) : e.holdMs);
}

function fitsBudget(existing: FaultEpisode[], next: FaultEpisode, budget: number, nodeCount: number): boolean {
  return maxConcurrentFaulty([...existing, next], nodeCount) <= budget
    && !existing.some((e) => e.exclusive && overlaps(e, next, nodeCount));
}

const overlaps = (a: FaultEpisode, b: FaultEpisode, n: number): boolean =>
  a.startMs < plannedEnd(b, n) && b.startMs < plannedEnd(a, n);

/** The most nodes faulty at the same instant over a plan. */
export function maxConcurrentFaulty(episodes: readonly FaultEpisode[], nodeCount: number): number {
  const events: [number, number][] = [];
  for (const e of episodes) {
    events.push([e.startMs, e.nodes]);
    events.push([plannedEnd(e, nodeCount), -e.nodes]);
  }
  // Ends before starts at the same instant: a fault healed at t frees its node for t.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0; let max = 0;
  for (const [, d] of events) { now += d; max = Math.max(max, now); }
  return max;
}
