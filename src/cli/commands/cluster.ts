// mom cluster: one row per node from GET /v1/cluster: each node's own role, term and
// indexes, and the leader's view of its replication (lag in entries behind the leader's
// commit index, time since its last contact).
import { table } from '../output.js';
import type { Command } from '../command.js';
import type { ClusterStatus, MomClient } from '../../client/index.js';

interface NodeRow {
  id: string;
  url: string;
  reachable: boolean;
  role?: string;
  term?: number;
  commitIndex?: number;
  appliedIndex?: number;
  /** Entries behind the leader's commit index (from the leader's matchIndex). */
  lag?: number;
  lastContactMs?: number;
}

export async function clusterRows(client: MomClient, signal?: AbortSignal): Promise<{ leaderId: string | null; nodes: NodeRow[] }> {
  const origins = client.rest.endpoints.origins;
  const views = await Promise.all(origins.map((origin) => client.clusterStatus({ origin, signal, timeoutMs: 2000 }).catch(() => undefined)));
  const any = views.find((v) => v !== undefined);
  if (any === undefined) {
    // Nothing answered: let the client's retries and error say why.
    await client.clusterStatus({ signal });
    throw new Error('unreachable');
  }
  // The members as the cluster knows them (they may differ from the URLs given).
  const leaderView = views.find((v) => v?.role === 'leader')
    ?? (any.leaderUrl !== null ? await client.clusterStatus({ origin: new URL(any.leaderUrl).origin, signal, timeoutMs: 2000 }).catch(() => undefined) : undefined);
  const members = (leaderView ?? any).nodes;
  const byId = new Map<string, ClusterStatus>();
  for (const v of views) if (v !== undefined) byId.set(v.nodeId, v);
  await Promise.all(members.filter((m) => !byId.has(m.id)).map(async (m) => {
    const v = await client.clusterStatus({ origin: new URL(m.httpUrl).origin, signal, timeoutMs: 2000 }).catch(() => undefined);
    if (v !== undefined) byId.set(v.nodeId, v);
  }));
  const nodes = members.map((m): NodeRow => {
    const own = byId.get(m.id);
    const row: NodeRow = { id: m.id, url: m.httpUrl, reachable: own !== undefined };
    if (own !== undefined) Object.assign(row, { role: own.role, term: own.term, commitIndex: own.commitIndex, appliedIndex: own.appliedIndex });
    if (leaderView !== undefined && m.id !== leaderView.nodeId) {
      if (m.matchIndex !== undefined) row.lag = Math.max(0, leaderView.commitIndex - m.matchIndex);
      if (m.lastContactMs !== undefined) row.lastContactMs = m.lastContactMs;
    }
    return row;
  });
  return { leaderId: leaderView?.nodeId ?? any.leaderId, nodes };
}

const dash = (v: number | string | undefined): string | number => v ?? '-';

export const cluster: Command = {
  words: ['cluster'],
  usage: '',
  summary: 'the nodes: role, term, commit/applied index, replication lag, last contact',
  args: [0, 0],
  auth: false,
  async run(ctx) {
    const view = await clusterRows(ctx.client(), ctx.signal);
    ctx.out.result(view, () => table(
      ['NODE', 'URL', 'ROLE', 'TERM', 'COMMIT/APPLIED', 'LAG', 'LAST CONTACT'],
      view.nodes.map((n) => [
        n.id, n.url, n.reachable ? dash(n.role) : 'unreachable', dash(n.term),
        n.commitIndex === undefined ? '-' : `${n.commitIndex}/${n.appliedIndex}`,
        dash(n.lag), n.lastContactMs === undefined ? '-' : `${n.lastContactMs} ms ago`,
      ]),
    ));
  },
};
