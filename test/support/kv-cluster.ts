// Helpers for process tests: a LocalCluster of fixture nodes and a tiny client.
import { LocalCluster, waitFor, type LocalClusterOptions } from '../../scripts/lib/local-cluster.js';

import { KV_NODE_ENTRY } from '../../scripts/kv/entry.js';

export const FIXTURE_ENTRY = KV_NODE_ENTRY;

export async function startKvCluster(opts: Partial<LocalClusterOptions> = {}): Promise<LocalCluster> {
  return LocalCluster.start({
    nodes: 3,
    entry: FIXTURE_ENTRY,
    tickMs: 50,
    electionTicks: 6,
    ...opts,
    env: (id) => ({ MOM_KV_TRACK_ORDER: '1', MOM_LOG_LEVEL: 'info', ...(opts.env?.(id) ?? {}) }),
  });
}

export interface PutResult {
  status: number;
  body: { index?: number; position?: number; error?: string; leaderId?: string };
}

export async function put(cluster: LocalCluster, nodeId: string, key: string, value: string, timeoutMs = 3000): Promise<PutResult | undefined> {
  const n = cluster.node(nodeId);
  try {
    const res = await fetch(`${n.httpUrl}/kv/${encodeURIComponent(key)}`, {
      method: 'POST',
      body: value,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: (await res.json()) as PutResult['body'] };
  } catch {
    return undefined; // no answer: outcome unknown
  }
}

/** Puts through whichever node leads, retrying until acknowledged or the deadline. */
export async function putAcked(cluster: LocalCluster, key: string, value: string, timeoutMs = 15_000, among?: string[]): Promise<PutResult> {
  return waitFor(
    async () => {
      const leader = await cluster.waitForLeader({ timeoutMs, among });
      const r = await put(cluster, leader, key, value);
      return r?.status === 200 ? r : undefined;
    },
    timeoutMs,
    () => `put ${key} never acknowledged`,
  );
}

export interface KvSummary {
  puts: number;
  keys: number;
  hash: string;
  applied: number;
}

export async function summary(cluster: LocalCluster, id: string): Promise<KvSummary | undefined> {
  return (await cluster.getJson<KvSummary>(id, '/kv'))?.body;
}

export async function putOrder(cluster: LocalCluster, id: string): Promise<string[] | undefined> {
  return (await cluster.getJson<{ order: string[] }>(id, '/kv-keys', 5000))?.body.order;
}

/** Waits until every node in `ids` reports the same put count and order hash. */
export async function waitConverged(cluster: LocalCluster, ids: string[], timeoutMs = 20_000): Promise<KvSummary> {
  let seen = '';
  return waitFor(
    async () => {
      const all = await Promise.all(ids.map((id) => summary(cluster, id)));
      seen = JSON.stringify(all);
      if (all.some((s) => !s)) return undefined;
      const first = all[0]!;
      return all.every((s) => s!.puts === first.puts && s!.hash === first.hash) ? first : undefined;
    },
    timeoutMs,
    () => `replicas did not converge: ${seen}`,
  );
}
