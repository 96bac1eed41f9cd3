// The runner's view of the cluster through the public endpoints (/v1/cluster, /ready):
// who leads, whether everyone is ready, whether replicas agree.
import type { BrokerHttpClient } from './http-client.js';

export interface NodeStatusView {
  nodeId: string;
  role: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  /** Present only if the API exposes a state hash. */
  stateHash?: string;
}

export class ClusterView {
  constructor(private readonly client: BrokerHttpClient, private readonly urls: ReadonlyMap<string, string>) {}

  async status(id: string, timeoutMs = 800): Promise<NodeStatusView | undefined> {
    const url = this.urls.get(id);
    if (url === undefined) return undefined;
    const res = await this.client.getNode(url, '/v1/cluster', timeoutMs);
    if (res?.status !== 200 || typeof res.body !== 'object' || res.body === null) return undefined;
    const b = res.body as Record<string, unknown>;
    const view: NodeStatusView = {
      nodeId: String(b.nodeId), role: String(b.role), term: Number(b.term),
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
    while (Date.now() < deadline) {
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
    while (Date.now() < deadline || samples === 0) {
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

export interface ConvergenceReport {
  converged: boolean;
  samples: number;
  hashExposed: boolean;
  nodes: NodeStatusView[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
