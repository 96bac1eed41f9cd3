import { HTTP_PORT } from '../cluster-layout.js';
import { HOST_PATHS } from '../host/paths.js';
import { awsJson } from './aws-cli.js';
import type { ClusterView, RolloutNode, RolloutOps } from './rollout.js';

// RolloutOps over SSM Run Command: the nodes are private, so every check runs on the
// node itself (curl to 127.0.0.1) and comes back as the command's output.

interface Invocation {
  Status: string;
  StandardOutputContent?: string;
  StandardErrorContent?: string;
  ResponseCode?: number;
}

const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied']);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runOnNode(instanceId: string, commands: string[], timeoutSeconds: number): Promise<Invocation> {
  const sent = await awsJson<{ Command: { CommandId: string } }>([
    'ssm',
    'send-command',
    '--instance-ids',
    instanceId,
    '--document-name',
    'AWS-RunShellScript',
    '--timeout-seconds',
    String(timeoutSeconds),
    '--parameters',
    JSON.stringify({ commands, executionTimeout: [String(timeoutSeconds)] }),
  ]);
  const commandId = sent.Command.CommandId;
  const deadline = Date.now() + (timeoutSeconds + 120) * 1000;
  for (;;) {
    await sleep(2000);
    try {
      const invocation = await awsJson<Invocation>(['ssm', 'get-command-invocation', '--command-id', commandId, '--instance-id', instanceId]);
      if (TERMINAL.has(invocation.Status)) return invocation;
    } catch (error) {
      // Right after send-command the invocation may not exist yet.
      if (!/InvocationDoesNotExist/.test((error as Error).message)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`SSM command ${commandId} on ${instanceId} did not finish`);
  }
}

export function parseClusterView(text: string): ClusterView | null {
  try {
    const body = JSON.parse(text) as Partial<ClusterView>;
    if (typeof body.nodeId !== 'string' || typeof body.commitIndex !== 'number' || typeof body.appliedIndex !== 'number') return null;
    return {
      nodeId: body.nodeId,
      role: String(body.role ?? 'unknown'),
      term: Number(body.term ?? 0),
      leaderId: typeof body.leaderId === 'string' ? body.leaderId : null,
      commitIndex: body.commitIndex,
      appliedIndex: body.appliedIndex,
    };
  } catch {
    return null;
  }
}

export function ssmRolloutOps(targetGroupArn: string, log: (line: string) => void): RolloutOps {
  const target = (node: RolloutNode) => ['--target-group-arn', targetGroupArn, '--targets', `Id=${node.instanceId},Port=${HTTP_PORT}`];
  return {
    async detach(node: RolloutNode) {
      await awsJson(['elbv2', 'deregister-targets', ...target(node)]);
      // Waits out the target group's deregistration delay (30 s).
      await awsJson(['elbv2', 'wait', 'target-deregistered', ...target(node)]).catch((error: Error) =>
        log(`  ${node.nodeId}| still draining after the waiter gave up, restarting anyway: ${error.message}`),
      );
    },
    async attach(node: RolloutNode) {
      await awsJson(['elbv2', 'register-targets', ...target(node)]);
      await awsJson(['elbv2', 'wait', 'target-in-service', ...target(node)]);
    },
    async isCurrent(node: RolloutNode) {
      const result = await runOnNode(node.instanceId, [`${HOST_PATHS.installRelease} --check`], 120);
      log(`  ${node.nodeId}| ${(result.StandardOutputContent ?? '').trim()}`);
      return result.Status === 'Success';
    },
    async installRelease(node: RolloutNode, readyTimeoutSeconds: number) {
      const result = await runOnNode(node.instanceId, [`${HOST_PATHS.installRelease} ${readyTimeoutSeconds}`], readyTimeoutSeconds + 300);
      for (const line of (result.StandardOutputContent ?? '').trim().split('\n').filter(Boolean)) log(`  ${node.nodeId}| ${line}`);
      if (result.Status !== 'Success') {
        throw new Error(`installing the release ${result.Status}: ${(result.StandardErrorContent ?? '').trim().slice(-2000)}`);
      }
    },
    async clusterView(node: RolloutNode) {
      const result = await runOnNode(node.instanceId, [`curl -sf --max-time 5 http://127.0.0.1:${HTTP_PORT}/v1/cluster`], 60);
      return result.Status === 'Success' ? parseClusterView(result.StandardOutputContent ?? '') : null;
    },
    sleep,
    now: () => Date.now(),
    log,
  };
}
