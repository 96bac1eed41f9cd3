// Every phase of a chaos run (start, setup, traffic and faults, each fault, heal, stop
// producers, drain, check) has its own deadline, so a run that stops making progress
// fails within minutes with a dump of the state that says why, instead of waiting for
// the test's timeout (which leaves the nodes running and says nothing).

/** A phase ran past its deadline; `dump` (added by the runner) says where things stood. */
export class PhaseTimeoutError extends Error {
  override readonly name = 'PhaseTimeoutError';
  constructor(
    readonly phase: string,
    readonly budgetMs: number,
    readonly dump?: string,
  ) {
    super(`chaos phase '${phase}' did not finish within ${budgetMs} ms${dump === undefined ? '' : `\n${dump}`}`);
  }
}

/**
 * `work()`, or a PhaseTimeoutError once `budgetMs` passed. A promise cannot be cancelled:
 * the work goes on in the background until the caller's cleanup ends it (killing the
 * nodes, closing the clients).
 */
export async function withDeadline<T>(phase: string, budgetMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PhaseTimeoutError(phase, budgetMs)), Math.max(0, budgetMs));
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The phases of runChaos, each with its own budget (ms). */
export type ChaosPhase = 'start' | 'setup' | 'faults' | 'heal' | 'stop-producers' | 'drain' | 'check';

/**
 * Each budget is the phase's own waits (readiness 60 s, drain 120 s, convergence 30 s, ...)
 * plus room for a loaded machine: a phase that overruns it is stuck, not slow. `faults`
 * is the run's duration plus this (the first episode of each kind runs even when late);
 * each fault episode also has its own (faultEpisodeBudgetMs).
 */
export const PHASE_BUDGET_MS: Readonly<Record<ChaosPhase, number>> = {
  start: 90_000,
  setup: 90_000,
  faults: 180_000,
  heal: 90_000,
  'stop-producers': 45_000,
  drain: 170_000,
  check: 80_000,
};

/** A fault's inject, heal and wait for readiness (30 s) past its hold; a rolling restart
 *  gets it once per node (a graceful stop of up to 5 s, then readiness). */
export const FAULT_EPISODE_SLACK_MS = 60_000;

export function faultEpisodeBudgetMs(episode: { holdMs: number; exclusive: boolean }, nodes: number): number {
  return episode.exclusive ? nodes * (episode.holdMs + FAULT_EPISODE_SLACK_MS) : episode.holdMs + FAULT_EPISODE_SLACK_MS;
}

/** Kept free before an overall deadline for the dump and the cleanup. */
export const DUMP_RESERVE_MS = 15_000;
