import { parseStackOutputs } from '../lib/ops/stack-outputs.js';
import { formatStatus, nodeRows } from '../lib/ops/status.js';

const outputs = [
  ['LoadBalancerUrl', 'http://MomBr-LoadB-abc.eu-west-1.elb.amazonaws.com'],
  ['TargetGroupArn', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/Nodes/abc'],
  ['LogGroupName', 'MomBroker-Logs'],
  ['ReleaseParameterName', 'MomBroker-ReleaseParameter'],
  ['NodeN1InstanceId', 'i-01'],
  ['NodeN1PrivateIp', '10.20.3.10'],
  ['NodeN2InstanceId', 'i-02'],
  ['NodeN2PrivateIp', '10.20.4.10'],
  ['NodeN3InstanceId', 'i-03'],
  ['NodeN3PrivateIp', '10.20.5.10'],
].map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

describe('stack outputs', () => {
  test('the nodes and endpoints of a deployed stack', () => {
    const stack = parseStackOutputs('MomBroker', outputs);
    expect(stack.nodes).toEqual([
      { nodeId: 'n1', instanceId: 'i-01', privateIp: '10.20.3.10' },
      { nodeId: 'n2', instanceId: 'i-02', privateIp: '10.20.4.10' },
      { nodeId: 'n3', instanceId: 'i-03', privateIp: '10.20.5.10' },
    ]);
    expect(stack.logGroupName).toBe('MomBroker-Logs');
    expect(() => parseStackOutputs('Other', outputs.slice(1))).toThrow(/stack Other has no output LoadBalancerUrl/);
  });
});

describe('status table', () => {
  const stack = parseStackOutputs('MomBroker', outputs);

  test('nodes, leader and health through the load balancer', () => {
    const rows = nodeRows(
      stack,
      new Map([['i-01', 'running'], ['i-02', 'running'], ['i-03', 'stopped']]),
      new Map([['i-01', 'healthy'], ['i-02', 'healthy']]),
    );
    const text = formatStatus('MomBroker', rows, {
      url: stack.loadBalancerUrl,
      health: '200',
      cluster: {
        nodeId: 'n1',
        leaderId: 'n2',
        term: 4,
        commitIndex: 812,
        nodes: [{ id: 'n1', role: 'follower', matchIndex: 812 }, { id: 'n2', role: 'leader' }, { id: 'n3' }],
      },
    });
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/^node\s+instance\s+private ip\s+ec2\s+alb target\s+raft role\s+match index$/);
    expect(lines[3]).toMatch(/^n1\s+i-01\s+10\.20\.3\.10\s+running\s+healthy\s+follower\s+812$/);
    expect(lines[4]).toMatch(/^n2\s+i-02\s+10\.20\.4\.10\s+running\s+healthy\s+leader\s+-$/);
    expect(lines[5]).toMatch(/^n3\s+i-03\s+10\.20\.5\.10\s+stopped\s+unregistered\s+-\s+-$/);
    expect(text).toContain('/health 200');
    expect(text).toContain('leader n2, term 4, commit index 812');
    expect(text).toContain('2/3 nodes healthy behind the load balancer\n');
  });

  test('an unreachable cluster and a lost quorum are said plainly', () => {
    const rows = nodeRows(stack, new Map(), new Map([['i-01', 'healthy']]));
    const text = formatStatus('MomBroker', rows, { url: stack.loadBalancerUrl, health: 'no answer', cluster: null, error: 'fetch failed' });
    expect(text).toContain('cluster: no answer from /v1/cluster (fetch failed)');
    expect(text).toContain('1/3 nodes healthy behind the load balancer: QUORUM LOST OR AT RISK');
  });
});
