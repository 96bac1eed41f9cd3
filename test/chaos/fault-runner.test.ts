import type { ClusterControl } from '../../scripts/chaos/cluster-control.js';
import { FaultRunner } from '../../scripts/chaos/fault-runner.js';
import { LinkMesh } from '../../scripts/chaos/proxy.js';
import type { FaultEpisode } from '../../scripts/chaos/schedule.js';

/** Records process-level actions and tracks which nodes are down or paused. */
class RecordingCluster implements ClusterControl {
  readonly calls: string[] = [];
  readonly down = new Set<string>();
  readonly paused = new Set<string>();
  maxUnhealthy = 0;
  readonly dataRoot = '/nonexistent';
  constructor(readonly nodeIds: string[]) {}
  unexpectedExits(): [] { return []; }
  httpUrl(id: string): string { return `http://${id}`; }
  logFile(): undefined { return undefined; }
  private note(call: string): void {
    this.calls.push(call);
    this.maxUnhealthy = Math.max(this.maxUnhealthy, this.down.size + this.paused.size);
  }
  async kill(id: string): Promise<void> { this.down.add(id); this.note(`kill ${id}`); }
  async start(id: string): Promise<void> { this.down.delete(id); this.note(`start ${id}`); }
  async gracefulRestart(id: string): Promise<{ ms: number; forced: boolean }> {
    this.down.add(id); this.note(`restart ${id}`); this.down.delete(id);
    return { ms: 1, forced: id === 'n2' };
  }
  async pause(id: string): Promise<void> { this.paused.add(id); this.note(`pause ${id}`); }
  async resume(id: string): Promise<void> { this.paused.delete(id); this.note(`resume ${id}`); }
  async shutdown(): Promise<void> { this.note('shutdown'); }
}

const episode = (id: number, kind: FaultEpisode['kind'], startMs: number, holdMs: number, extra: Partial<FaultEpisode> = {}): FaultEpisode =>
  ({ id, kind, startMs, holdMs, nodes: 1, exclusive: kind === 'rolling-restart', pick: 0, ...extra });

async function setup(ids: string[], leader: string | undefined) {
  const cluster = new RecordingCluster(ids);
  const mesh = await LinkMesh.prepare(ids.length);
  for (const a of ids) for (const b of ids) if (a !== b) mesh.peerAddress(a, b, '127.0.0.1:1');
  const readyAsked: string[] = [];
  const view = {
    leader: async (among: readonly string[]) => (leader !== undefined && among.includes(leader) ? leader : undefined),
    waitReady: async (which: readonly string[]) => { readyAsked.push(...which); return []; },
  };
  const lines: string[] = [];
  const runner = new FaultRunner({ cluster, mesh, view, clock: () => 0, log: (l) => lines.push(l) });
  return { cluster, mesh, runner, readyAsked, lines };
}

describe('fault runner', () => {
  test('hits the leader, kills and restarts, pauses and resumes, heals links', async () => {
    const { cluster, mesh, runner } = await setup(['n1', 'n2', 'n3'], 'n2');
    try {
      const seenDuring: string[] = [];
      const plan = [
        episode(1, 'kill-leader', 0, 5),
        episode(2, 'pause-leader', 0, 5),
        episode(3, 'isolate-leader', 0, 30),
        episode(4, 'isolate-follower', 0, 5, { pick: 0.99 }),
        episode(5, 'one-way-loss', 0, 5, { direction: 'out' }),
        episode(6, 'slow-node', 0, 5, { delayMs: 40 }),
      ];
      const running = runner.run(plan, () => false);
      // While isolate-leader holds, n2's links are cut.
      while (!runner.records.some((r) => r.kind === 'isolate-leader')) await new Promise((r) => setTimeout(r, 1));
      seenDuring.push(mesh.link('n1', 'n2').state.forward, mesh.link('n2', 'n3').state.backward);
      await running;
      expect(seenDuring).toEqual(['drop', 'drop']);
      expect(cluster.calls).toEqual(['kill n2', 'start n2', 'pause n2', 'resume n2']);
      expect(runner.records.map((r) => [r.kind, r.nodes])).toEqual([
        ['kill-leader', ['n2']], ['pause-leader', ['n2']], ['isolate-leader', ['n2']],
        ['isolate-follower', ['n3']], ['one-way-loss', ['n1']], ['slow-node', ['n1']],
      ]);
      expect(runner.records.every((r) => r.error === undefined && r.healedAt !== undefined && r.endedAt !== undefined)).toBe(true);
      for (const [, stats] of Object.entries(mesh.stats())) expect(stats.open).toBe(0);
      for (const a of ['n1', 'n2', 'n3']) {
        for (const b of ['n1', 'n2', 'n3']) {
          if (a !== b) expect(mesh.link(a, b).state).toEqual({ forward: 'pass', backward: 'pass', delayMs: 0, resetProbability: 0 });
        }
      }
      expect(runner.faultyNow).toBe(0);
    } finally {
      await mesh.close();
    }
  });

  test('never exceeds a minority even when the plan overlaps faults', async () => {
    const { cluster, mesh, runner } = await setup(['a', 'b', 'c', 'd', 'e'], undefined);
    try {
      // Five overlapping kills planned at once: at most two may be down together.
      const plan = [1, 2, 3, 4, 5].map((i) => episode(i, 'kill-random', 0, 20, { pick: i / 10 }));
      await runner.run(plan, () => false);
      expect(cluster.maxUnhealthy).toBe(2);
      expect(cluster.calls.filter((c) => c.startsWith('kill'))).toHaveLength(5);
      expect(cluster.down.size).toBe(0);
    } finally {
      await mesh.close();
    }
  });

  test('a rolling restart goes node by node, each ready before the next, alone', async () => {
    const { cluster, mesh, runner, readyAsked } = await setup(['n1', 'n2', 'n3'], 'n1');
    try {
      await runner.run([episode(1, 'rolling-restart', 0, 1), episode(2, 'kill-random', 0, 1)], () => false);
      expect(cluster.calls).toEqual(['restart n1', 'restart n2', 'restart n3', 'kill n1', 'start n1']);
      // Each restarted node is awaited ready, and so is the killed one after its restart.
      expect(readyAsked).toEqual(['n1', 'n2', 'n3', 'n1']);
      expect(runner.records[0].forcedStops).toBe(1);
      expect(runner.records[0].detail).toMatch(/n2 KILLED/);
    } finally {
      await mesh.close();
    }
  });

  test('past the deadline only the always-run episodes start', async () => {
    const { cluster, mesh, runner } = await setup(['n1', 'n2', 'n3'], 'n1');
    try {
      const plan = [episode(1, 'kill-random', 0, 1), episode(2, 'pause-leader', 0, 1), episode(3, 'kill-leader', 0, 1)];
      await runner.run(plan, () => false, Date.now() - 1, 2);
      expect(runner.records.map((r) => r.id)).toEqual([1, 2]);
      expect(cluster.calls).toEqual(['kill n1', 'start n1', 'pause n1', 'resume n1']);
    } finally {
      await mesh.close();
    }
  });

  test('healAll undoes whatever is still in effect', async () => {
    const { cluster, mesh, runner } = await setup(['n1', 'n2', 'n3'], 'n1');
    try {
      let stop = false;
      const running = runner.run([episode(1, 'pause-leader', 0, 60_000)], () => stop);
      while (!cluster.paused.has('n1')) await new Promise((r) => setTimeout(r, 1));
      stop = true;
      await runner.healAll();
      expect(cluster.paused.size).toBe(0);
      await running;
      expect(cluster.calls).toEqual(['pause n1', 'resume n1']);
    } finally {
      await mesh.close();
    }
  });
});
