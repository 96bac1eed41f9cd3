// The runner's view of the cluster through the public endpoints (/v1/cluster, /ready):
// who leads, whether everyone is ready, whether replicas agree.
import type { BrokerHttpClient } from './http-client.js';
import type { ClusterStatus } from '../../src/client/types.js';

/** The fields of GET /v1/cluster the runner reads, and a state hash if the API exposes one. */
export type NodeStatusView = Pick<ClusterStatus, 'nodeId' | 'role' | 'term' | 'leaderId' | 'commitIndex' | 'appliedIndex'> & {
  stateHash?: string;
};

export class ClusterView {
  /** `halt`: the run failed; waits end at once. */
  constructor(private readonly client: BrokerHttpClient, private readonly urls: ReadonlyMap<string, string>, private readonly halt?: AbortSignal) {}

  async status(id: string, timeoutMs = 800): Promise<NodeStatusView | undefined> {
    const url = this.urls.get(id);
    if (url === undefined) return undefined;
    const res = await this.client.getNode(url, '/v1/cluster', timeoutMs);
    if (res?.status !== 200 || typeof res.body !== 'object' || res.body === null) return undefined;
    const b = res.body as Record<string, unknown>;
    const view: NodeStatusView = {
      nodeId: String(b.nodeId), role: String(b.role) as ClusterStatus['role'], term: Number(b.term),
      leaderId: b.leaderId === null || b.leaderId === undefined ? null : String(b.leaderId),
      commitIndex: Number(b.commitIndex), appliedIndex: Number(b.appliedIndex),
    };
    const hash = b.stateHash ?? b.stateMachineHash;
    if (typeof hash === 'string') view.stateHash = hash;
    return view;
  }

  /** The leader that answering nodes agree on (highest term wins), if any. */
  async leader(among: readonly string[]): Promise<string | undefined> {
    const views = (await Promise.all(among.map((id) => this.status(id)))).filter((v): v is NodeStatusView => v !== undefined);
    const leaders = views.filter((v) => v.role === 'leader').sort((a, b) => b.term - a.term);
    if (leaders.length > 0 && among.includes(leaders[0].nodeId)) return leaders[0].nodeId;
    const named = views.map((v) => v.leaderId).filter((l): l is string => l !== null && among.includes(l));
    return named[0];
  }

  async isReady(id: string): Promise<boolean> {
    const url = this.urls.get(id);
    if (url === undefined) return false;
    const res = await this.client.getNode(url, '/ready', 800);
    return res?.status === 200;
  }

  async waitReady(ids: readonly string[], deadline: number): Promise<string[]> {
    let notReady = [...ids];
    while (Date.now() < deadline && this.halt?.aborted !== true) {
      const ready = await Promise.all(notReady.map((id) => this.isReady(id)));
      notReady = notReady.filter((_, i) => !ready[i]);
      if (notReady.length === 0) return [];
      await sleep(200);
    }
    return notReady;
  }

  /**
   * Convergence: every node reports the same commit index with everything applied
   * (and the same state hash when exposed). The leader keeps committing idle ticks, so
   * this samples all nodes together until one sample agrees or the deadline passes.
   */
  async waitConverged(ids: readonly string[], deadline: number): Promise<ConvergenceReport> {
    let last: (NodeStatusView | undefined)[] = [];
    let samples = 0;
    while ((Date.now() < deadline && this.halt?.aborted !== true) || samples === 0) {
      samples++;
      last = await Promise.all(ids.map((id) => this.status(id)));
      const views = last.filter((v): v is NodeStatusView => v !== undefined);
      if (views.length === ids.length) {
        const commit = new Set(views.map((v) => v.commitIndex));
        const applied = views.every((v) => v.appliedIndex === v.commitIndex);
        const hashes = views.map((v) => v.stateHash);
        const hashExposed = hashes.every((h) => h !== undefined);
        const sameHash = !hashExposed || new Set(hashes).size === 1;
        if (commit.size === 1 && applied && sameHash) {
          return { converged: true, samples, hashExposed, nodes: views };
        }
      }
      await sleep(100);
    }
    const views = last.filter((v): v is NodeStatusView => v !== undefined);
    return { converged: false, samples, hashExposed: views.length > 0 && views.every((v) => v.stateHash !== undefined), nodes: views };
  }
}

export interface StateAgreement {
  /** Every node served the same bodies at the same applied index. */
  agreed: boolean;
  appliedIndex?: number;
  samples: number;
  paths: string[];
  /** On disagreement: the last bodies per node, for reading. */
  differing?: Record<string, unknown>;
}

export interface ConvergenceReport {
  converged: boolean;
  samples: number;
  hashExposed: boolean;
  nodes: NodeStatusView[];
}

/**
 * Replica state through the API: stale reads serve each node's own applied state with
 * its applied index, so at one applied index every node must answer identically.
 */
export async function compareStaleState(
  client: BrokerHttpClient, urls: ReadonlyMap<string, string>, token: string, paths: string[], deadline: number,
): Promise<StateAgreement> {
  let samples = 0;
  let mismatches = 0;
  let differing: Record<string, unknown> | undefined;
  // Equal applied index with different bodies is divergence; a few samples guard
  // against reading an index header and a body from different moments.
  while ((samples === 0 || Date.now() < deadline) && mismatches < 3) {
    samples++;
    const perNode = await Promise.all([...urls].map(async ([id, url]) => {
      const answers = await Promise.all(paths.map((p) => client.getNode(url, `${p}${p.includes('?') ? '&' : '?'}consistency=stale`, 2000, token)));
      return { id, answers };
    }));
    const complete = perNode.every((n) => n.answers.every((a) => a?.status === 200 && a.appliedIndex !== undefined));
    if (complete) {
      const indexes = new Set(perNode.flatMap((n) => n.answers.map((a) => a!.appliedIndex)));
      if (indexes.size === 1) {
        const bodies = perNode.map((n) => JSON.stringify(n.answers.map((a) => a!.body)));
        if (new Set(bodies).size === 1) return { agreed: true, appliedIndex: [...indexes][0], samples, paths };
        mismatches++;
        differing = Object.fromEntries(perNode.map((n) => [n.id, n.answers.map((a) => a!.body)]));
      }
    }
    await sleep(100);
  }
  return { agreed: false, samples, paths, ...(differing && { differing }) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
