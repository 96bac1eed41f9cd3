import { App, Stack, Token } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { planNodes, VPC_CIDR } from '../lib/cluster-layout.js';
import { parseStackOutputs } from '../lib/ops/stack-outputs.js';
import { jest } from '@jest/globals';
import { cdkJsonContext, cleanScratch, resourcesOfType, scratchDir, synthBroker, templateViolations, validationFindings, type Synthesized } from './support/synth.js';

let plain: Synthesized;
let otherRelease: Synthesized;
let withCertificate: Synthesized;
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';

beforeAll(() => {
  plain = synthBroker({}, 'release one');
  otherRelease = synthBroker({}, 'release two, different bytes');
  withCertificate = synthBroker({ certificateArn: CERTIFICATE_ARN }, 'release one');
});
afterAll(cleanScratch);

const instances = (s: Synthesized) => resourcesOfType(s.json, 'AWS::EC2::Instance');
const launchTemplateOf = (s: Synthesized, instance: any) => s.json.Resources[instance.Properties.LaunchTemplate.LaunchTemplateId.Ref];

function ingressRules(s: Synthesized): { groupRef: string; rule: any }[] {
  const rules: { groupRef: string; rule: any }[] = [];
  for (const [id, sg] of resourcesOfType(s.json, 'AWS::EC2::SecurityGroup')) {
    for (const rule of sg.Properties.SecurityGroupIngress ?? []) rules.push({ groupRef: id, rule });
  }
  for (const [, r] of resourcesOfType(s.json, 'AWS::EC2::SecurityGroupIngress')) {
    rules.push({ groupRef: r.Properties.GroupId['Fn::GetAtt'][0], rule: r.Properties });
  }
  return rules;
}

function groupIdOf(s: Synthesized, description: string): string {
  const found = resourcesOfType(s.json, 'AWS::EC2::SecurityGroup').find(([, sg]) => sg.Properties.GroupDescription === description);
  if (!found) throw new Error(`no security group ${description}`);
  return found[0];
}

describe('nodes', () => {
  test('three instances with the fixed private IPs of the layout, one per private subnet', () => {
    const expected = planNodes(['10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24']).map((n) => n.privateIp);
    const found = instances(plain).map(([, i]) => i.Properties.PrivateIpAddress);
    expect(found.sort()).toEqual(expected.sort());
    const subnets = new Set(instances(plain).map(([, i]) => i.Properties.SubnetId.Ref));
    expect(subnets.size).toBe(3);
    for (const subnetRef of subnets) {
      const subnet = plain.json.Resources[subnetRef];
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
    expect(VPC_CIDR).toBe('10.20.0.0/16');
    plain.template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: VPC_CIDR });
  });

  test('IMDSv2 is required on every node', () => {
    for (const [, instance] of instances(plain)) {
      const lt = launchTemplateOf(plain, instance);
      expect(lt.Type).toBe('AWS::EC2::LaunchTemplate');
      expect(lt.Properties.LaunchTemplateData.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
    }
  });

  test('no key pair anywhere: access is SSM only', () => {
    expect(JSON.stringify(plain.json)).not.toMatch(/"KeyName"|AWS::EC2::KeyPair/);
    plain.template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: Match.arrayWith([
        Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':iam::aws:policy/AmazonSSMManagedInstanceCore'])]) }),
      ]),
    });
  });

  test('the AMI is resolved by EC2 at launch, not pinned into the template at synth', () => {
    for (const [, instance] of instances(plain)) {
      expect(instance.Properties.ImageId).toBeUndefined();
      const imageId = launchTemplateOf(plain, instance).Properties.LaunchTemplateData.ImageId;
      expect(imageId).toBe('resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
    }
    const graviton = synthBroker({ instanceType: 't4g.small' });
    const [, instance] = instances(graviton)[0];
    expect(launchTemplateOf(graviton, instance).Properties.LaunchTemplateData).toMatchObject({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
    });
    expect(instance.Properties.InstanceType).toBe('t4g.small');
  });

  test('the instance type is on the instances (a change stops and starts them), one node after another', () => {
    for (const [, instance] of instances(plain)) {
      expect(instance.Properties.InstanceType).toBe('t3.small');
      expect(launchTemplateOf(plain, instance).Properties.LaunchTemplateData.InstanceType).toBeUndefined();
    }
    const byNode = new Map(instances(plain).map(([id, i]) => [i.Properties.Tags.find((t: any) => t.Key === 'mom:node-id').Value, { id, i }]));
    expect(byNode.get('n1')!.i.DependsOn.some((d: string) => d.startsWith('NodeN'))).toBe(false);
    expect(byNode.get('n2')!.i.DependsOn).toContain(byNode.get('n1')!.id);
    expect(byNode.get('n3')!.i.DependsOn).toContain(byNode.get('n2')!.id);
  });

  test('three encrypted gp3 data volumes, snapshotted (not lost) on delete or replacement, one attached per node', () => {
    const volumes = resourcesOfType(plain.json, 'AWS::EC2::Volume');
    expect(volumes).toHaveLength(3);
    for (const [, volume] of volumes) {
      expect(volume.Properties).toMatchObject({ Encrypted: true, VolumeType: 'gp3' });
      expect(volume.DeletionPolicy).toBe('Snapshot');
      expect(volume.UpdateReplacePolicy).toBe('Snapshot');
    }
    const attachments = resourcesOfType(plain.json, 'AWS::EC2::VolumeAttachment').map(([, a]) => a.Properties);
    expect(new Set(attachments.map((a) => a.InstanceId.Ref)).size).toBe(3);
    expect(new Set(attachments.map((a) => a.VolumeId.Ref)).size).toBe(3);
    // Each volume lives in the zone of the instance it is attached to.
    for (const a of attachments) {
      const volume = plain.json.Resources[a.VolumeId.Ref];
      const subnet = plain.json.Resources[plain.json.Resources[a.InstanceId.Ref].Properties.SubnetId.Ref];
      expect(volume.Properties.AvailabilityZone).toEqual(subnet.Properties.AvailabilityZone);
    }
  });

  test('user data is identical for two different releases; only the release parameter changes', () => {
    const userData = (s: Synthesized) =>
      instances(s).map(([id, i]) => [id, launchTemplateOf(s, i).Properties.LaunchTemplateData.UserData]);
    expect(userData(otherRelease)).toEqual(userData(plain));
    // Nothing about the instances or their launch templates changes either.
    for (const [id, instance] of instances(plain)) {
      expect(otherRelease.json.Resources[id]).toEqual(instance);
      const ltId = instance.Properties.LaunchTemplate.LaunchTemplateId.Ref;
      expect(otherRelease.json.Resources[ltId]).toEqual(plain.json.Resources[ltId]);
    }
    const parameterValue = (s: Synthesized) => resourcesOfType(s.json, 'AWS::SSM::Parameter')[0][1].Properties.Value;
    expect(JSON.stringify(parameterValue(otherRelease))).not.toEqual(JSON.stringify(parameterValue(plain)));
    // The URL has the shape the node's release installer accepts (s3://<bucket>/<hash>.gz).
    expect(parameterValue(plain)['Fn::Sub']).toMatch(/^s3:\/\/[^/]+\/[0-9a-f]{64}\.gz$/);
  });

  test('user data installs and starts the node from the release parameter, with secrets from Secrets Manager', () => {
    const [, instance] = instances(plain)[0];
    const text = JSON.stringify(launchTemplateOf(plain, instance).Properties.LaunchTemplateData.UserData);
    expect(text).toContain('RELEASE_PARAMETER=');
    expect(text).toContain('aws secretsmanager get-secret-value');
    expect(text).toContain('\\"leaderMode\\": \\"forward\\"');
    expect(text).toContain('mom-install-release');
    const parameterId = resourcesOfType(plain.json, 'AWS::SSM::Parameter')[0][0];
    expect(text).toContain(`{"Ref":"${parameterId}"}`);
  });

  test('nodes talk gRPC over TLS with certificates issued at boot, and trust X-Forwarded-For from the public subnets only', () => {
    for (const [, instance] of instances(plain)) {
      const text = JSON.stringify(launchTemplateOf(plain, instance).Properties.LaunchTemplateData.UserData);
      expect(text).toContain('mom-issue-node-cert');
      expect(text).toContain('\\"tls\\": {');
      const seedId = resourcesOfType(plain.json, 'AWS::SecretsManager::Secret').map(([id]) => id).find((id) => id.startsWith('TlsCaSeed'));
      expect(text).toContain(`{"Ref":"${seedId}"}`);
      const publicCidrs = resourcesOfType(plain.json, 'AWS::EC2::Subnet')
        .filter(([, s]) => s.Properties.MapPublicIpOnLaunch === true)
        .map(([, s]) => s.Properties.CidrBlock as string);
      expect(publicCidrs).toHaveLength(3);
      for (const cidr of publicCidrs) expect(text).toContain(`\\"${cidr}\\"`);
    }
  });
});

describe('network', () => {
  test('HTTP only from the load balancer, gRPC only between nodes, port 22 nowhere', () => {
    const nodeSg = groupIdOf(plain, 'MOM broker nodes');
    const albSg = groupIdOf(plain, 'MOM broker load balancer');
    for (const [, instance] of instances(plain)) {
      expect(launchTemplateOf(plain, instance).Properties.LaunchTemplateData.SecurityGroupIds).toEqual([
        { 'Fn::GetAtt': [nodeSg, 'GroupId'] },
      ]);
    }
    const toNodes = ingressRules(plain).filter((r) => r.groupRef === nodeSg).map((r) => r.rule);
    expect(toNodes).toHaveLength(2);
    expect(toNodes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ FromPort: 8080, ToPort: 8080, IpProtocol: 'tcp', SourceSecurityGroupId: { 'Fn::GetAtt': [albSg, 'GroupId'] } }),
        expect.objectContaining({ FromPort: 9090, ToPort: 9090, IpProtocol: 'tcp', SourceSecurityGroupId: { 'Fn::GetAtt': [nodeSg, 'GroupId'] } }),
      ]),
    );
    for (const s of [plain, withCertificate]) {
      for (const { rule } of ingressRules(s)) {
        expect(rule.IpProtocol).toBe('tcp');
        expect(rule.FromPort <= 22 && rule.ToPort >= 22).toBe(false);
      }
    }
    // The load balancer talks only to the nodes' HTTP port.
    const albEgress = resourcesOfType(plain.json, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties);
    expect(albEgress).toEqual([
      expect.objectContaining({ FromPort: 8080, ToPort: 8080, DestinationSecurityGroupId: { 'Fn::GetAtt': [nodeSg, 'GroupId'] } }),
    ]);
  });

  test('three zones without a lookup', () => {
    const zones = resourcesOfType(plain.json, 'AWS::EC2::Subnet').map(([, s]) => JSON.stringify(s.Properties.AvailabilityZone));
    expect(new Set(zones).size).toBe(3);
  });
});

describe('load balancer', () => {
  test('internet-facing, health check /health on the HTTP port, three targets', () => {
    plain.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    const [[, group]] = resourcesOfType(plain.json, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(group.Properties).toMatchObject({ Port: 8080, Protocol: 'HTTP', HealthCheckPath: '/health', TargetType: 'instance' });
    const instanceIds = instances(plain).map(([id]) => id).sort();
    expect(group.Properties.Targets.map((t: any) => t.Id.Ref).sort()).toEqual(instanceIds);
    expect(group.Properties.Targets.every((t: any) => t.Port === 8080)).toBe(true);
  });

  test('without a certificate: HTTP on 80 forwards, no HTTPS listener', () => {
    const listeners = resourcesOfType(plain.json, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Properties);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).toMatchObject({ Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward' }] });
  });

  test('with a certificate: HTTPS on 443 forwards and HTTP redirects to it', () => {
    const listeners = resourcesOfType(withCertificate.json, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Properties);
    expect(listeners).toHaveLength(2);
    const https = listeners.find((l) => l.Port === 443);
    const http = listeners.find((l) => l.Port === 80);
    expect(https).toMatchObject({ Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERTIFICATE_ARN }], DefaultActions: [{ Type: 'forward' }] });
    expect(http).toMatchObject({
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
    const albSg = groupIdOf(withCertificate, 'MOM broker load balancer');
    const ports = ingressRules(withCertificate).filter((r) => r.groupRef === albSg).map((r) => r.rule.FromPort).sort();
    expect(ports).toEqual([443, 80]);
  });
});

describe('secrets, logs and alarms', () => {
  test('JWT secret, cluster token and TLS CA seed are generated by Secrets Manager, never literal', () => {
    const secrets = resourcesOfType(plain.json, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(3);
    expect(secrets.map(([id]) => id).some((id) => id.startsWith('TlsCaSeed'))).toBe(true);
    for (const [, secret] of secrets) {
      expect(secret.Properties.GenerateSecretString).toBeDefined();
      expect(secret.Properties.SecretString).toBeUndefined();
    }
  });

  test('the log group has a retention', () => {
    plain.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('alarms on node health: auto-recover per node, unhealthy targets, quorum at risk', () => {
    const alarms = resourcesOfType(plain.json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const recover = alarms.filter((a) => a.MetricName === 'StatusCheckFailed_System');
    expect(recover).toHaveLength(3);
    for (const alarm of recover) expect(JSON.stringify(alarm.AlarmActions)).toContain(':ec2:recover');
    expect(alarms.some((a) => a.MetricName === 'UnHealthyHostCount')).toBe(true);
    expect(alarms.some((a) => a.MetricName === 'HealthyHostCount' && a.Threshold === 2)).toBe(true);
  });
});

describe('outputs', () => {
  test('the stack outputs everything the operational targets read', () => {
    const outputs = Object.keys((plain.template.toJSON() as { Outputs: Record<string, unknown> }).Outputs);
    const deployed = parseStackOutputs('MomBroker', outputs.map((key) => ({ OutputKey: key, OutputValue: `value-of-${key}` })));
    expect(deployed.nodes.map((n) => n.instanceId)).toEqual(['value-of-NodeN1InstanceId', 'value-of-NodeN2InstanceId', 'value-of-NodeN3InstanceId']);
    const values = (plain.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(values.NodeN2PrivateIp.Value).toBe('10.20.4.10');
    expect(values.LoadBalancerUrl.Value).toEqual({ 'Fn::Join': ['', ['http://', expect.anything()]] });
    const https = (withCertificate.template.toJSON() as { Outputs: Record<string, { Value: any }> }).Outputs.LoadBalancerUrl.Value;
    expect(https['Fn::Join'][1][0]).toBe('https://');
  });
});

describe('synthesis', () => {
  test('environment-agnostic and no context lookups', () => {
    for (const s of [plain, otherRelease, withCertificate]) {
      expect(Token.isUnresolved(s.stack.account)).toBe(true);
      expect(Token.isUnresolved(s.stack.region)).toBe(true);
      expect(s.assembly.manifest.missing ?? []).toEqual([]);
      // No deploy-time SSM parameters either: only the bootstrap version check.
      expect(Object.keys(s.json.Parameters ?? {})).toEqual(['BootstrapVersion']);
    }
  });

  test('no validation warnings or errors, from CDK or from the template validation', () => {
    for (const s of [plain, otherRelease, withCertificate]) {
      expect(validationFindings(s.stack)).toEqual([]);
      expect(templateViolations(s.assembly)).toEqual([]);
    }
    // cdk.json makes the CLI's synth fail on any template finding, warnings included.
    expect(cdkJsonContext()['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
  });

  test('the validation checks do catch a template warning (they are not vacuous)', () => {
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const probe = (context: Record<string, unknown>) => {
        const app = new App({ outdir: scratchDir('mom-cdk-probe-'), context });
        const stack = new Stack(app, 'Probe');
        new ec2.CfnInstance(stack, 'Bad', { imageId: 'resolve:ssm:/not/an/ami/id' });
        return app;
      };
      const lenient = probe({ '@aws-cdk/core:validateAgainstDefaultRules': false }).synth();
      expect(templateViolations(lenient)).toEqual([expect.stringContaining('warning E1152')]);
      expect(() => probe(cdkJsonContext()).synth()).toThrow(/ERROR ImageId/);
    } finally {
      quiet.mockRestore();
    }
  });
});
