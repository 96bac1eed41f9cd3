import { createInterface } from 'node:readline';
import { awsJson, findExecutable, runAws, runAwsInteractive, runAwsSync } from '../lib/ops/aws-cli.js';
import { preflight } from '../lib/ops/preflight.js';
import { DEFAULT_ROLLOUT_OPTIONS, runRollout } from '../lib/ops/rollout.js';
import { ssmRolloutOps } from '../lib/ops/ssm-ops.js';
import { readDeployedStack } from '../lib/ops/stack-outputs.js';
import { formatStatus, nodeRows, type ThroughLoadBalancer } from '../lib/ops/status.js';

// The operational targets of aws.mk:  node --import tsx scripts/ops.ts <command> [target]
//   preflight <make-target>   fail fast (exit 2) when the AWS CLI, a region or credentials are missing
//   environment                          print aws://account/region (for cdk bootstrap)
//   rollout | status | logs | ssh | destroy   (STACK, NODE, SINCE, AWS_FORCE from the environment)

const stackName = process.env.STACK || 'MomBroker';

function fail(target: string, message: string, code = 2): never {
  console.error(`${target}: ${message}`);
  process.exit(code);
}

function requireAws(target: string, sessionManagerPlugin = false): { account: string; region: string } {
  const result = preflight({ env: process.env, findExecutable: (n) => findExecutable(n), runAws: (a) => runAwsSync(a) }, { sessionManagerPlugin });
  if (!result.ok) fail(target, result.message);
  return result;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await new Promise<string>((r) => rl.question(question, r));
  rl.close();
  return answer.trim() === 'yes';
}

async function destroy(): Promise<void> {
  const { region } = requireAws('aws-destroy');
  const volumes = await awsJson<string[]>([
    'cloudformation', 'describe-stack-resources', '--stack-name', stackName,
    '--query', "StackResources[?ResourceType=='AWS::EC2::Volume'].PhysicalResourceId",
  ]).catch((error: Error) => fail('aws-destroy', `cannot read stack ${stackName} in ${region}: ${error.message}`));
  if (process.env.AWS_FORCE !== '1' && !(await confirm(`Delete stack ${stackName} in ${region} (nodes, load balancer, secrets, logs)? Type yes: `))) {
    fail('aws-destroy', 'not confirmed (answer yes on a terminal, or run with AWS_FORCE=1)');
  }
  console.log(`deleting stack ${stackName} in ${region} ...`);
  const deleted = await runAws(['cloudformation', 'delete-stack', '--stack-name', stackName]);
  if (deleted.status !== 0) fail('aws-destroy', deleted.stderr.trim(), 1);
  const waited = await runAws(['cloudformation', 'wait', 'stack-delete-complete', '--stack-name', stackName]);
  if (waited.status !== 0) fail('aws-destroy', `the stack did not finish deleting: ${waited.stderr.trim()} (see the CloudFormation console)`, 1);
  console.log(`stack ${stackName} deleted.`);
  if (volumes.length > 0) {
    console.log(
      `The data volumes (${volumes.join(', ')}) were snapshotted on delete; snapshots cost money until you delete them:\n` +
        `  aws ec2 describe-snapshots --owner-ids self --filters Name=volume-id,Values=${volumes.join(',')} --query 'Snapshots[].SnapshotId'\n` +
        '  aws ec2 delete-snapshot --snapshot-id <id>',
    );
  }
}

function requireNode(target: string): string {
  const node = process.env.NODE ?? '';
  if (!/^n[1-3]$/.test(node)) fail(target, `say which node: make ${target} NODE=n1 (n1, n2 or n3)`);
  return node;
}

async function throughLoadBalancer(url: string): Promise<ThroughLoadBalancer> {
  const base = process.env.MOM_URL || url;
  const result: ThroughLoadBalancer = { url: base, health: 'no answer', cluster: null };
  try {
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
    result.health = String(health.status);
    const cluster = await fetch(`${base}/v1/cluster`, { signal: AbortSignal.timeout(5000) });
    if (cluster.ok) result.cluster = (await cluster.json()) as ThroughLoadBalancer['cluster'];
  } catch (error) {
    result.error = `${(error as Error).message}${base.startsWith('https://') ? '; with a certificate, set MOM_URL=https://<your domain>' : ''}`;
  }
  return result;
}

async function status(): Promise<void> {
  const stack = await readDeployedStack(stackName);
  const ids = stack.nodes.map((n) => n.instanceId);
  const instances = await awsJson<{ id: string; state: string }[]>([
    'ec2', 'describe-instances', '--instance-ids', ...ids,
    '--query', 'Reservations[].Instances[].{id: InstanceId, state: State.Name}',
  ]);
  const targets = await awsJson<{ id: string; state: string; reason: string | null }[]>([
    'elbv2', 'describe-target-health', '--target-group-arn', stack.targetGroupArn,
    '--query', 'TargetHealthDescriptions[].{id: Target.Id, state: TargetHealth.State, reason: TargetHealth.Reason}',
  ]);
  const rows = nodeRows(
    stack,
    new Map(instances.map((i) => [i.id, i.state])),
    new Map(targets.map((t) => [t.id, t.reason ? `${t.state} (${t.reason})` : t.state])),
  );
  process.stdout.write(formatStatus(stack.stackName, rows, await throughLoadBalancer(stack.loadBalancerUrl)));
}

async function main(): Promise<void> {
  const [command, target = `aws-${process.argv[2] ?? ''}`] = process.argv.slice(2);
  switch (command) {
    case 'preflight':
      requireAws(target, target === 'aws-ssh');
      if (target === 'aws-ssh') requireNode(target);
      return;
    case 'environment': {
      const { account, region } = requireAws('aws-bootstrap');
      console.log(`aws://${account}/${region}`);
      return;
    }
    case 'destroy':
      await destroy();
      return;
    case 'rollout': {
      requireAws('aws-rollout');
      const stack = await readDeployedStack(stackName);
      await runRollout(stack.nodes, ssmRolloutOps(stack.targetGroupArn, (line) => console.log(line)), DEFAULT_ROLLOUT_OPTIONS);
      return;
    }
    case 'status':
      requireAws('aws-status');
      await status();
      return;
    case 'logs': {
      requireAws('aws-logs');
      const stack = await readDeployedStack(stackName);
      const node = process.env.NODE;
      const streams = node ? ['--log-stream-name-prefix', node] : [];
      process.exit(await runAwsInteractive(['logs', 'tail', stack.logGroupName, '--follow', '--format', 'short', '--since', process.env.SINCE || '15m', ...streams]));
    }
    case 'ssh': {
      requireAws('aws-ssh', true);
      const node = requireNode('aws-ssh');
      const stack = await readDeployedStack(stackName);
      const instance = stack.nodes.find((n) => n.nodeId === node);
      if (!instance) fail('aws-ssh', `stack ${stackName} has no node ${node}`);
      process.exit(await runAwsInteractive(['ssm', 'start-session', '--target', instance.instanceId]));
    }
    default:
      fail('aws', `unknown command ${command ?? '(none)'}: preflight | environment | rollout | status | logs | ssh | destroy`, 64);
  }
}

main().catch((error: unknown) => {
  console.error(`aws-${process.argv[2] ?? ''}: ${(error as Error).message}`);
  process.exit(1);
});
