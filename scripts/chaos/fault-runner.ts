// Executes a fault plan against a live cluster: resolves role-named targets when each
// fault starts, keeps at most a minority of nodes faulty (the plan promises it; this
// enforces it against timing drift), and records what actually happened.
import type { ClusterControl } from './cluster-control.js';
import type { ClusterView } from './cluster-view.js';
import { faultEpisodeBudgetMs, withDeadline } from './phase-deadline.js';
import type { LinkMesh } from './proxy.js';
import { faultBudget, type FaultEpisode } from './schedule.js';

export interface FaultRecord {
  id: number;
  kind: FaultEpisode['kind'];
  nodes: string[];
  detail: string;
  startedAt: number;
  /** When the fault was undone (node restarted, resumed, links healed). */
  healedAt?: number;
  /** When the node answered /ready again (undefined: not within 30 s). */
  endedAt?: number;
  /** Rolling restart: graceful stops that ran out of grace and were killed. */
  forcedStops?: number;
  error?: string;
}

export interface FaultRunnerDeps {
  cluster: ClusterControl;
  mesh: LinkMesh;
  view: Pick<ClusterView, 'leader' | 'waitReady'>;
  /** ms since the run started. */
  clock: () => number;
  log: (line: string) => void;
}

export class FaultRunner {
  readonly records: FaultRecord[] = [];
  private readonly faulty = new Set<string>();
  private exclusiveRunning = false;
  private readonly paused = new Set<string>();
  private readonly down = new Set<string>();
  private readonly budget: number;
  private shouldStop: () => boolean = () => false;

  constructor(private readonly deps: FaultRunnerDeps) {
    this.budget = faultBudget(deps.cluster.nodeIds.length);
  }

  get faultyNow(): number {
    return this.faulty.size;
  }

  /** Which nodes a fault holds now: counted against the budget, SIGSTOPped, killed. */
  get held(): { faulty: string[]; paused: string[]; down: string[] } {
    return { faulty: [...this.faulty].sort(), paused: [...this.paused].sort(), down: [...this.down].sort() };
  }

  /**
   * Runs the plan; the phase starts now. Resolves when every started episode has
   * healed. Faults fall behind the plan when restarts are slow; past `deadline` only
   * the first `alwaysRun` episodes (one of each kind) still start. An episode that
   * overruns its own deadline (faultEpisodeBudgetMs) fails the run at once with a
   * PhaseTimeoutError naming it; no further episode starts.
   */
  async run(plan: readonly FaultEpisode[], shouldStop: () => boolean, deadline = Infinity, alwaysRun = 0): Promise<void> {
    let overran: ((err: unknown) => void) | undefined;
    const overrun = new Promise<never>((_, reject) => (overran = reject));
    let stuck = false;
    this.shouldStop = () => stuck || shouldStop();
    const running: Promise<void>[] = [];
    const start = (episode: FaultEpisode, node: string | undefined, note: string): void => {
      const name = `fault #${episode.id} ${episode.kind}${node === undefined ? '' : ` on ${node}`}`;
      running.push(withDeadline(name, faultEpisodeBudgetMs(episode, this.deps.cluster.nodeIds.length), () => this.runEpisode(episode, node, note)).catch((err: unknown) => {
        stuck = true;
        overran?.(err);
      }));
    };
    await Promise.race([this.startEpisodes(plan, start, deadline, alwaysRun).then(() => Promise.all(running)), overrun]);
  }

  private async startEpisodes(
    plan: readonly FaultEpisode[], start: (e: FaultEpisode, node: string | undefined, note: string) => void, deadline: number, alwaysRun: number,
  ): Promise<void> {
    const shouldStop = this.shouldStop;
    const phaseStart = Date.now();
    const ordered = [...plan].sort((a, b) => a.startMs - b.startMs);
    for (const [index, episode] of ordered.entries()) {
      await sleepUntil(phaseStart + episode.startMs, shouldStop);
      if (shouldStop()) break;
      if (Date.now() > deadline && index >= alwaysRun) break;
      // Wait for room: a minority budget, and nothing alongside a rolling restart.
      while (!shouldStop() && (this.exclusiveRunning || (episode.exclusive
        ? this.faulty.size > 0
        : this.faulty.size + episode.nodes > this.budget))) {
        await sleep(50);
      }
      if (shouldStop()) break;
      // Claim the target before the next episode picks, so two never share a node.
      let node: string | undefined;
      let note = '';
      if (!episode.exclusive) {
        try {
          [node, note] = await this.target(episode);
        } catch (err) {
          this.deps.log(`fault #${episode.id} ${episode.kind} skipped: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        this.faulty.add(node);
      }
      start(episode, node, note);
    }
  }

  /** Undo anything still in effect: heal links, resume paused, start killed nodes. */
  async healAll(): Promise<void> {
    this.deps.mesh.healAll();
    for (const id of [...this.paused]) { this.paused.delete(id); await this.deps.cluster.resume(id); }
    for (const id of [...this.down]) { this.down.delete(id); await this.deps.cluster.start(id); }
    this.faulty.clear();
  }

  private async runEpisode(e: FaultEpisode, node: string | undefined, note: string): Promise<void> {
    const record: FaultRecord = { id: e.id, kind: e.kind, nodes: [], detail: note, startedAt: this.deps.clock() };
    this.records.push(record);
    if (e.exclusive) this.exclusiveRunning = true;
    try {
      if (node === undefined) {
        await this.rollingRestart(e, record);
        return;
      }
      record.nodes = [node];
      try {
        await this.inject(e, node, record);
        this.deps.log(`fault #${e.id} ${e.kind} on ${node}${record.detail ? ` (${record.detail})` : ''} for ${e.holdMs} ms`);
        await sleepUntil(Date.now() + e.holdMs, this.shouldStop);
      } finally {
        await this.heal(e, node);
        record.healedAt = this.deps.clock();
        // A restarted or reconnected node counts as faulty until it is ready again:
        // otherwise the next fault could take a majority while it is still booting.
        const notReady = await this.deps.view.waitReady([node], Date.now() + READY_TIMEOUT_MS);
        if (notReady.length > 0) record.detail = joinDetail(record.detail, `not ready ${READY_TIMEOUT_MS / 1000} s after healing`);
        this.faulty.delete(node);
      }
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      this.deps.log(`fault #${e.id} ${e.kind} failed: ${record.error}`);
    } finally {
      record.endedAt = this.deps.clock();
      if (e.exclusive) this.exclusiveRunning = false;
    }
  }

  private async inject(e: FaultEpisode, node: string, record: FaultRecord): Promise<void> {
    const { cluster, mesh } = this.deps;
    switch (e.kind) {
      case 'kill-random':
      case 'kill-leader':
        this.down.add(node);
        await cluster.kill(node);
        return;
      case 'pause-leader':
        this.paused.add(node);
        await cluster.pause(node);
        return;
      case 'isolate-leader':
      case 'isolate-follower':
        mesh.isolate(node);
        return;
      case 'one-way-loss':
        mesh.dropAll(node, e.direction ?? 'in');
        record.detail = joinDetail(record.detail, `drop all traffic ${e.direction === 'out' ? 'out of' : 'into'} it`);
        return;
      case 'slow-node':
        mesh.slow(node, e.delayMs ?? 50);
        record.detail = joinDetail(record.detail, `+${e.delayMs ?? 50} ms per chunk`);
        return;
      case 'rolling-restart':
        throw new Error('rolling restart is not a single-node fault');
    }
  }

  private async heal(e: FaultEpisode, node: string): Promise<void> {
    const { cluster, mesh } = this.deps;
    switch (e.kind) {
      case 'kill-random':
      case 'kill-leader':
        // healAll may have been first.
        if (this.down.delete(node)) await cluster.start(node);
        return;
      case 'pause-leader':
        if (this.paused.delete(node)) await cluster.resume(node);
        return;
      default:
        mesh.heal(node);
    }
  }

  private async rollingRestart(e: FaultEpisode, record: FaultRecord): Promise<void> {
    const { cluster, view } = this.deps;
    record.nodes = [...cluster.nodeIds];
    this.deps.log(`fault #${e.id} rolling-restart of ${record.nodes.join(', ')}`);
    const notReady: string[] = [];
    const stops: string[] = [];
    for (const id of cluster.nodeIds) {
      this.faulty.add(id);
      try {
        const stop = await cluster.gracefulRestart(id);
        stops.push(`${id} ${stop.forced ? `KILLED after a ${stop.ms} ms grace` : `stopped in ${stop.ms} ms`}`);
        // The next node goes only once this one is back, or the restart would take a majority down.
        const stillDown = await view.waitReady([id], Date.now() + READY_TIMEOUT_MS);
        notReady.push(...stillDown);
      } finally {
        this.faulty.delete(id);
      }
      if (this.shouldStop()) break;
      await sleep(e.holdMs);
    }
    record.detail = `${stops.join(', ')}; ${notReady.length === 0 ? 'each node ready before the next' : `not ready within 30 s: ${notReady.join(', ')}`}`;
    record.forcedStops = stops.filter((s) => s.includes('KILLED')).length;
  }

  /** Picks the node an episode hits, among nodes not already faulty (and says how). */
  private async target(e: FaultEpisode): Promise<[string, string]> {
    const healthy = this.deps.cluster.nodeIds.filter((id) => !this.faulty.has(id));
    if (healthy.length === 0) throw new Error('no healthy node to fault');
    const byPick = (candidates: readonly string[]): string =>
      [...candidates].sort()[Math.floor(e.pick * candidates.length)];
    if (e.kind === 'kill-random' || e.kind === 'one-way-loss' || e.kind === 'slow-node') return [byPick(healthy), ''];
    const leader = await this.deps.view.leader(healthy);
    if (e.kind === 'isolate-follower') {
      const followers = healthy.filter((id) => id !== leader);
      return [byPick(followers.length > 0 ? followers : healthy), ''];
    }
    if (leader !== undefined) return [leader, 'was leader'];
    return [byPick(healthy), 'no healthy leader known: hit a random node'];
  }
}

const READY_TIMEOUT_MS = 30_000;

const joinDetail = (a: string, b: string): string => (a === '' ? b : `${a}; ${b}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sleepUntil(at: number, stop: () => boolean): Promise<void> {
  while (!stop() && Date.now() < at) await sleep(Math.min(100, at - Date.now()));
}
