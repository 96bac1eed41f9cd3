import { NODE_IDS } from '../cluster-layout.js';
import { awsJson } from './aws-cli.js';

// What the operational targets need from a deployed stack, read from its outputs.

export interface DeployedStack {
  stackName: string;
  loadBalancerUrl: string;
  targetGroupArn: string;
  logGroupName: string;
  releaseParameterName: string;
  nodes: { nodeId: string; instanceId: string; privateIp: string }[];
}

export function parseStackOutputs(stackName: string, outputs: { OutputKey: string; OutputValue: string }[]): DeployedStack {
  const byKey = new Map(outputs.map((o) => [o.OutputKey, o.OutputValue]));
  const get = (key: string): string => {
    const value = byKey.get(key);
    if (value === undefined) throw new Error(`stack ${stackName} has no output ${key}: was it deployed by this version of deploy/aws?`);
    return value;
  };
  return {
    stackName,
    loadBalancerUrl: get('LoadBalancerUrl'),
    targetGroupArn: get('TargetGroupArn'),
    logGroupName: get('LogGroupName'),
    releaseParameterName: get('ReleaseParameterName'),
    nodes: NODE_IDS.map((nodeId) => {
      const suffix = nodeId.toUpperCase();
      return { nodeId, instanceId: get(`Node${suffix}InstanceId`), privateIp: get(`Node${suffix}PrivateIp`) };
    }),
  };
}

export async function readDeployedStack(stackName: string): Promise<DeployedStack> {
  let outputs: { OutputKey: string; OutputValue: string }[] | null;
  try {
    outputs = await awsJson<{ OutputKey: string; OutputValue: string }[] | null>([
      'cloudformation',
      'describe-stacks',
      '--stack-name',
      stackName,
      '--query',
      'Stacks[0].Outputs',
    ]);
  } catch (error) {
    throw new Error(`cannot read stack ${stackName} (is it deployed in this account and region? \`make aws-deploy\`): ${(error as Error).message}`);
  }
  return parseStackOutputs(stackName, outputs ?? []);
}
