// The rolling upgrade: one node at a time, followers first and the leader last (so
// leadership moves once), and the next node only after the previous one answers
// /ready and has applied everything the leader had committed. With three nodes, one
// node down at a time never costs the quorum.
import type { ClusterStatus } from '../../../../src/client/types.js';

/** The fields of the broker's GET /v1/cluster answer the rollout reads (a node that
 *  answers something else, such as an unknown role, is simply not the leader). */
export type ClusterView = Pick<ClusterStatus, 'nodeId' | 'term' | 'leaderId' | 'commitIndex' | 'appliedIndex'> & { role: string };

export interface RolloutNode {
  nodeId: string;
  instanceId: string;
}

export interface RolloutOps {
  /** Takes the node out of the load balancer and waits until its connections drained. */
  detach(node: RolloutNode): Promise<void>;
  /** Puts the node back behind the load balancer and waits until it is in service. */
  attach(node: RolloutNode): Promise<void>;
  /** Whether the node already runs the release the SSM parameter names. */
  isCurrent(node: RolloutNode): Promise<boolean>;
  /** Installs the release the SSM parameter names and waits for /ready; throws on failure. */
  installRelease(node: RolloutNode, readyTimeoutSeconds: number): Promise<void>;
  /** The node's own GET /v1/cluster, or null when it does not answer. */
  clusterView(node: RolloutNode): Promise<ClusterView | null>;
  sleep(ms: number): Promise<void>;
  now(): number;
  log(line: string): void;
}

export interface RolloutOptions {
  readyTimeoutSeconds: number;
  /** How long to wait for every node to answer with a known leader (first boot included). */
  clusterTimeoutMs: number;
  catchUpTimeoutMs: number;
  pollMs: number;
}

export const DEFAULT_ROLLOUT_OPTIONS: RolloutOptions = {
  readyTimeoutSeconds: 600,
  clusterTimeoutMs: 15 * 60_000,
  catchUpTimeoutMs: 5 * 60_000,
  pollMs: 3_000,
};

export class RolloutError extends Error {}

/** The leader the most recent term agrees on, or null. */
export function currentLeader(views: readonly (ClusterView | null)[]): string | null {
  let best: ClusterView | null = null;
  for (const view of views) {
    if (view && view.leaderId && (!best || view.term > best.term)) best = view;
  }
  return best ? best.leaderId : null;
}

/** Followers in id order, then the leader. */
export function rolloutOrder<T extends { nodeId: string }>(nodes: readonly T[], leaderId: string | null): T[] {
  const byId = [...nodes].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return [...byId.filter((n) => n.nodeId !== leaderId), ...byId.filter((n) => n.nodeId === leaderId)];
}

/** A node is caught up when it knows a leader and has applied the leader's commit index. */
export function isCaughtUp(view: ClusterView | null, leaderCommitIndex: number): boolean {
  return view !== null && view.leaderId !== null && view.appliedIndex >= leaderCommitIndex;
}

async function waitFor<T>(
  ops: RolloutOps,
  timeoutMs: number,
  pollMs: number,
  attempt: () => Promise<T | null>,
  describeFailure: () => string,
): Promise<T> {
  const deadline = ops.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== null) return value;
    if (ops.now() >= deadline) throw new RolloutError(describeFailure());
    await ops.sleep(pollMs);
  }
}

async function viewsOf(ops: RolloutOps, nodes: readonly RolloutNode[]): Promise<(ClusterView | null)[]> {
  const views: (ClusterView | null)[] = [];
  for (const node of nodes) views.push(await ops.clusterView(node));
  return views;
}

/** Waits until every node answers and they agree on a leader; returns that leader. */
async function waitForHealthyCluster(ops: RolloutOps, nodes: readonly RolloutNode[], options: RolloutOptions): Promise<string> {
  let last: (ClusterView | null)[] = [];
  return waitFor(
    ops,
    options.clusterTimeoutMs,
    options.pollMs,
    async () => {
      last = await viewsOf(ops, nodes);
      const leader = currentLeader(last);
      const allAnswer = last.every((v) => v !== null && v.leaderId === leader);
      return leader !== null && allAnswer ? leader : null;
    },
    () => {
      const states = nodes.map((n, i) => `${n.nodeId}: ${last[i] ? `leader ${last[i]?.leaderId ?? 'unknown'}` : 'no answer'}`);
      return `the cluster is not healthy (${states.join(', ')}); fix it before a rolling upgrade, a restart now could cost the quorum`;
    },
  );
}

export async function runRollout(
  nodes: readonly RolloutNode[],
  ops: RolloutOps,
  options: RolloutOptions = DEFAULT_ROLLOUT_OPTIONS,
): Promise<void> {
  const leaderAtStart = await waitForHealthyCluster(ops, nodes, options);
  const order = rolloutOrder(nodes, leaderAtStart);
  ops.log(`leader is ${leaderAtStart}; upgrading ${order.map((n) => n.nodeId).join(', ')} one at a time`);

  for (const node of order) {
    // Idempotent: a node already on the release is not drained or restarted.
    if (await ops.isCurrent(node)) {
      ops.log(`${node.nodeId}: already on the release`);
      continue;
    }
    ops.log(`${node.nodeId}: draining it from the load balancer`);
    await ops.detach(node);
    ops.log(`${node.nodeId}: installing the release and waiting for /ready`);
    try {
      await ops.installRelease(node, options.readyTimeoutSeconds);
    } catch (error) {
      throw new RolloutError(
        `${node.nodeId}: ${(error as Error).message}; rollout stopped, the other nodes are untouched ` +
          `and ${node.nodeId} stays out of the load balancer (make aws-status, make aws-logs NODE=${node.nodeId})`,
      );
    }

    // The leader's commit index after the node came back: the node must reach it.
    const leader = await waitFor(
      ops,
      options.catchUpTimeoutMs,
      options.pollMs,
      async () => {
        const own = await ops.clusterView(node);
        const leaderNode = own?.leaderId ? nodes.find((n) => n.nodeId === own.leaderId) : undefined;
        if (!leaderNode) return null;
        const view = leaderNode.nodeId === node.nodeId ? own : await ops.clusterView(leaderNode);
        return view && view.role === 'leader' ? view : null;
      },
      () => `${node.nodeId}: no leader visible after the restart`,
    );
    const target = leader.commitIndex;
    let lastApplied = -1;
    await waitFor(
      ops,
      options.catchUpTimeoutMs,
      options.pollMs,
      async () => {
        const view = await ops.clusterView(node);
        lastApplied = view?.appliedIndex ?? -1;
        return isCaughtUp(view, target) ? view : null;
      },
      () => `${node.nodeId}: not caught up (applied ${lastApplied} < leader commit ${target}); rollout stopped, it stays out of the load balancer`,
    );
    ops.log(`${node.nodeId}: ready and caught up (leader ${leader.nodeId} commit ${target}); back into the load balancer`);
    await ops.attach(node);
  }

  const leaderAtEnd = await waitForHealthyCluster(ops, nodes, options);
  ops.log(`rollout done: all ${nodes.length} nodes on the release, leader is ${leaderAtEnd}`);
}
