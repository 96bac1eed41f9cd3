import type { Role } from '../raft/types.js';
import type { NodeConfig } from './config.js';

export interface NodeStatus {
  nodeId: string;
  role: Role;
  term: number;
  leaderId: string | null;
  leaderUrl: string | null;
  commitIndex: number;
  appliedIndex: number;
  nodes: { id: string; httpUrl: string; role?: Role; matchIndex?: number; lastContactMs?: number }[];
}

/** What one node knows of itself and the cluster at a moment. */
export interface StatusInputs {
  nodeId: string;
  peers: NodeConfig['peers'];
  role: Role;
  term: number;
  /** '' when unknown. */
  leaderId: string;
  commitIndex: number;
  applied: number;
  /** The leader's view of each follower's log (undefined on a non-leader). */
  progress: Record<string, { match: number }> | undefined;
  httpUrlOf(id: string): string | undefined;
  lastHeardMs(id: string): number | undefined;
}

/** The node's status as docs/API.md's `/v1/cluster` body shows it. */
export function buildStatus(s: StatusInputs, now: number): NodeStatus {
  const leaderId = s.leaderId || null;
  return {
    nodeId: s.nodeId,
    role: s.role,
    term: s.term,
    leaderId,
    leaderUrl: leaderId ? (s.httpUrlOf(leaderId) ?? null) : null,
    commitIndex: s.commitIndex,
    appliedIndex: s.applied,
    nodes: s.peers.map((p) => {
      const node: NodeStatus['nodes'][number] = { id: p.id, httpUrl: p.httpUrl };
      if (p.id === s.nodeId) node.role = s.role;
      else if (p.id === leaderId) node.role = 'leader';
      else if (s.role === 'leader') node.role = 'follower';
      const progress = s.progress?.[p.id];
      if (progress) node.matchIndex = progress.match;
      const heard = s.lastHeardMs(p.id);
      if (p.id !== s.nodeId && heard !== undefined) node.lastContactMs = now - heard;
      return node;
    }),
  };
}
