import { currentLeader, isCaughtUp, rolloutOrder, runRollout, type ClusterView, type RolloutNode, type RolloutOps } from '../lib/ops/rollout.js';
import { parseClusterView } from '../lib/ops/ssm-ops.js';

const nodes: RolloutNode[] = [
  { nodeId: 'n1', instanceId: 'i-1' },
  { nodeId: 'n2', instanceId: 'i-2' },
  { nodeId: 'n3', instanceId: 'i-3' },
];

/**
 * A scripted three-node cluster for the rollout loop: a restarted node comes back
 * lagging and catches up a few polls later; a restarted leader hands over to n1.
 * Virtual time, so nothing depends on the wall clock.
 */
class ScriptedCluster implements RolloutOps {
  time = 0;
  leader = 'n2';
  term = 3;
  commit = 100;
  applied = new Map(nodes.map((n) => [n.nodeId, 100]));
  down = new Set<string>();
  lagPolls = new Map<string, number>();
  installs: string[] = [];
  /** Load balancer membership changes and installs, in order. */
  events: string[] = [];
  failInstallOf: string | null = null;
  neverCatchUp: string | null = null;
  lines: string[] = [];
  /** Nodes already on the wanted release. */
  current = new Set<string>();

  async isCurrent(node: RolloutNode): Promise<boolean> {
    return this.current.has(node.nodeId);
  }

  async detach(node: RolloutNode): Promise<void> {
    this.events.push(`detach ${node.nodeId}`);
  }

  async attach(node: RolloutNode): Promise<void> {
    expect(this.applied.get(node.nodeId)).toBe(this.commit);
    this.events.push(`attach ${node.nodeId}`);
  }

  async installRelease(node: RolloutNode): Promise<void> {
    this.installs.push(node.nodeId);
    this.events.push(`install ${node.nodeId}`);
    this.current.add(node.nodeId);
    if (node.nodeId === this.failInstallOf) throw new Error('not ready 600s after installing release abc');
    this.commit += 5; // writes keep flowing during the rollout
    this.applied.set(node.nodeId, this.commit - 20);
    this.lagPolls.set(node.nodeId, 2);
    if (node.nodeId === this.leader) {
      this.leader = 'n1';
      this.term += 1;
    }
  }

  async clusterView(node: RolloutNode): Promise<ClusterView | null> {
    if (this.down.has(node.nodeId)) return null;
    const lag = this.lagPolls.get(node.nodeId) ?? 0;
    if (lag > 0) this.lagPolls.set(node.nodeId, lag - 1);
    else if (node.nodeId !== this.neverCatchUp) this.applied.set(node.nodeId, this.commit);
    return {
      nodeId: node.nodeId,
      role: node.nodeId === this.leader ? 'leader' : 'follower',
      term: this.term,
      leaderId: this.leader,
      commitIndex: this.commit,
      appliedIndex: this.applied.get(node.nodeId) ?? 0,
    };
  }

  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
  now(): number {
    return this.time;
  }
  log(line: string): void {
    this.lines.push(line);
  }
}

const options = { readyTimeoutSeconds: 60, clusterTimeoutMs: 60_000, catchUpTimeoutMs: 30_000, pollMs: 1_000 };

describe('rollout planning', () => {
  test('followers first in id order, the leader last', () => {
    expect(rolloutOrder(nodes, 'n1').map((n) => n.nodeId)).toEqual(['n2', 'n3', 'n1']);
    expect(rolloutOrder([...nodes].reverse(), 'n2').map((n) => n.nodeId)).toEqual(['n1', 'n3', 'n2']);
    expect(rolloutOrder(nodes, null).map((n) => n.nodeId)).toEqual(['n1', 'n2', 'n3']);
  });

  test('the leader of the newest term wins', () => {
    const view = (nodeId: string, term: number, leaderId: string | null): ClusterView => ({
      nodeId, term, leaderId, role: 'follower', commitIndex: 0, appliedIndex: 0,
    });
    expect(currentLeader([view('n1', 4, 'n3'), view('n2', 5, 'n2'), null])).toBe('n2');
    expect(currentLeader([view('n1', 4, null), null])).toBeNull();
  });

  test('caught up means a known leader and applied >= the leader commit index', () => {
    const view: ClusterView = { nodeId: 'n1', role: 'follower', term: 2, leaderId: 'n2', commitIndex: 10, appliedIndex: 10 };
    expect(isCaughtUp(view, 10)).toBe(true);
    expect(isCaughtUp(view, 11)).toBe(false);
    expect(isCaughtUp({ ...view, leaderId: null }, 5)).toBe(false);
    expect(isCaughtUp(null, 0)).toBe(false);
  });

  test('parses the /v1/cluster body the node answers', () => {
    const body = { nodeId: 'n1', role: 'leader', term: 7, leaderId: 'n1', leaderUrl: 'http://10.20.3.10:8080', commitIndex: 42, appliedIndex: 41, nodes: [] };
    expect(parseClusterView(JSON.stringify(body))).toEqual({ nodeId: 'n1', role: 'leader', term: 7, leaderId: 'n1', commitIndex: 42, appliedIndex: 41 });
    expect(parseClusterView('curl: (7) Failed to connect')).toBeNull();
    expect(parseClusterView('{"status":"ok"}')).toBeNull();
  });
});

describe('rolling upgrade', () => {
  test('one node at a time, leader last, each out of the load balancer until caught up', async () => {
    const cluster = new ScriptedCluster();
    await runRollout(nodes, cluster, options);
    expect(cluster.installs).toEqual(['n1', 'n3', 'n2']);
    expect(cluster.events).toEqual([
      'detach n1', 'install n1', 'attach n1',
      'detach n3', 'install n3', 'attach n3',
      'detach n2', 'install n2', 'attach n2',
    ]);
    expect(cluster.lines[0]).toBe('leader is n2; upgrading n1, n3, n2 one at a time');
    expect(cluster.lines.filter((l) => l.includes('ready and caught up'))).toHaveLength(3);
    expect(cluster.lines.at(-1)).toBe('rollout done: all 3 nodes on the release, leader is n1');
    for (const node of nodes) expect(cluster.applied.get(node.nodeId)).toBe(cluster.commit);
  });

  test('is idempotent: nodes already on the release are neither drained nor restarted', async () => {
    const cluster = new ScriptedCluster();
    cluster.current.add('n3');
    await runRollout(nodes, cluster, options);
    expect(cluster.events).toEqual(['detach n1', 'install n1', 'attach n1', 'detach n2', 'install n2', 'attach n2']);
    expect(cluster.lines).toContain('n3: already on the release');
    cluster.events = [];
    await runRollout(nodes, cluster, options);
    expect(cluster.events).toEqual([]);
  });

  test('refuses to start while a node is down', async () => {
    const cluster = new ScriptedCluster();
    cluster.down.add('n3');
    await expect(runRollout(nodes, cluster, options)).rejects.toThrow(/not healthy \(n1: leader n2, n2: leader n2, n3: no answer\)/);
    expect(cluster.installs).toEqual([]);
  });

  test('stops at the first node that does not become ready, leaving the rest untouched', async () => {
    const cluster = new ScriptedCluster();
    cluster.failInstallOf = 'n1';
    await expect(runRollout(nodes, cluster, options)).rejects.toThrow(
      /n1: not ready 600s after installing release abc; rollout stopped, the other nodes are untouched and n1 stays out of the load balancer/,
    );
    expect(cluster.events).toEqual(['detach n1', 'install n1']);
  });

  test('stops when a restarted node never catches up', async () => {
    const cluster = new ScriptedCluster();
    cluster.neverCatchUp = 'n1';
    await expect(runRollout(nodes, cluster, options)).rejects.toThrow(/n1: not caught up \(applied 85 < leader commit 105\)/);
    expect(cluster.events).toEqual(['detach n1', 'install n1']);
  });
});
