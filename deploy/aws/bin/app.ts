import { App } from 'aws-cdk-lib';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BrokerStack } from '../lib/broker-stack.js';

// CDK entry point (cdk.json runs it). Settings come from context, e.g.
// `cdk synth -c instanceType=t3.medium -c certificateArn=arn:...`; aws.mk passes them.

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
};

const releaseTarball = resolve(context('release') ?? 'build/release.tar.gz');
if (!existsSync(releaseTarball)) {
  console.error(`No release tarball at ${releaseTarball}: run \`make aws-bundle\` first (it builds the broker and packs it).`);
  process.exit(1);
}

new BrokerStack(app, context('stackName') ?? 'MomBroker', {
  description: 'MOM broker: three Raft nodes behind an Application Load Balancer',
  releaseTarball,
  instanceType: context('instanceType'),
  certificateArn: context('certificateArn'),
  allowedCidr: context('allowedCidr'),
  alarmEmail: context('alarmEmail'),
  logLevel: context('logLevel'),
});
app.synth();
