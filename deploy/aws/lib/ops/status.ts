import type { ClusterStatus } from '../../../../src/client/types.js';
import type { DeployedStack } from './stack-outputs.js';

// `make aws-status`: the nodes as EC2 and the load balancer see them, and the cluster
// as the broker sees it, through the ALB.

export interface NodeRow {
  nodeId: string;
  instanceId: string;
  privateIp: string;
  instanceState: string;
  targetHealth: string;
}

export interface ThroughLoadBalancer {
  url: string;
  health: string;
  cluster: (Pick<ClusterStatus, 'nodeId' | 'leaderId' | 'term' | 'commitIndex'> & {
    nodes?: { id: string; role?: string; matchIndex?: number; lastContactMs?: number }[];
  }) | null;
  error?: string;
}

export function nodeRows(
  stack: DeployedStack,
  instanceStates: Map<string, string>,
  targetHealth: Map<string, string>,
): NodeRow[] {
  return stack.nodes.map((n) => ({
    ...n,
    instanceState: instanceStates.get(n.instanceId) ?? 'unknown',
    targetHealth: targetHealth.get(n.instanceId) ?? 'unregistered',
  }));
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
}

export function formatStatus(stackName: string, rows: NodeRow[], lb: ThroughLoadBalancer): string {
  const cluster = lb.cluster;
  const peer = (id: string) => cluster?.nodes?.find((n) => n.id === id);
  const lines = [`stack ${stackName}`, ''];
  lines.push(
    ...table([
      ['node', 'instance', 'private ip', 'ec2', 'alb target', 'raft role', 'match index'],
      ...rows.map((r) => [
        r.nodeId,
        r.instanceId,
        r.privateIp,
        r.instanceState,
        r.targetHealth,
        peer(r.nodeId)?.role ?? (cluster?.leaderId === r.nodeId ? 'leader' : '-'),
        peer(r.nodeId)?.matchIndex === undefined ? '-' : String(peer(r.nodeId)?.matchIndex),
      ]),
    ]),
  );
  lines.push('');
  lines.push(`load balancer ${lb.url}: /health ${lb.health}`);
  if (cluster) {
    lines.push(`cluster (answered by ${cluster.nodeId}): leader ${cluster.leaderId ?? 'none known'}, term ${cluster.term}, commit index ${cluster.commitIndex}`);
  } else {
    lines.push(`cluster: no answer from /v1/cluster${lb.error ? ` (${lb.error})` : ''}`);
  }
  const healthy = rows.filter((r) => r.targetHealth === 'healthy').length;
  lines.push(`${healthy}/${rows.length} nodes healthy behind the load balancer${healthy < 2 ? ': QUORUM LOST OR AT RISK' : ''}`);
  return `${lines.join('\n')}\n`;
}
