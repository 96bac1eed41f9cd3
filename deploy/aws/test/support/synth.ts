import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerStack, type BrokerStackProps } from '../../lib/broker-stack.js';

// Synthesizes the stack the way `cdk synth` does, offline, against a small stand-in
// release tarball (the template only needs a file to hash and stage).

const scratch: string[] = [];

export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

export function cleanScratch(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function releaseTarball(content: string): string {
  const dir = scratchDir('mom-release-test-');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'release.tar.gz');
  writeFileSync(file, content);
  return file;
}

export interface Synthesized {
  stack: BrokerStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] }>; Parameters?: Record<string, unknown> };
  assembly: CloudAssembly;
}

/** The context of cdk.json, so tests synthesize with the same feature flags as `cdk synth`. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cdk.json');
  return (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context: Record<string, unknown> }).context;
}

export function synthBroker(props: Partial<BrokerStackProps> = {}, releaseContent = 'release one'): Synthesized {
  const app = new App({ outdir: scratchDir('mom-cdk-out-'), context: cdkJsonContext() });
  const stack = new BrokerStack(app, 'MomBroker', { releaseTarball: releaseTarball(releaseContent), ...props });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as Synthesized['json'], assembly };
}

/** Findings of the CloudFormation template validation CDK runs at synth (any severity). */
export function templateViolations(assembly: CloudAssembly): string[] {
  const report = join(assembly.directory, 'validation-report.json');
  if (!existsSync(report)) return [];
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as {
    pluginReports: { violations: { ruleName: string; description: string; severity?: string }[] }[];
  };
  return parsed.pluginReports.flatMap((r) => r.violations.map((v) => `${v.severity ?? 'error'} ${v.ruleName}: ${v.description}`));
}

/** Warnings and errors CDK constructs attached to the stack (deprecations, misconfigurations). */
export function validationFindings(stack: import('aws-cdk-lib').Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [...annotations.findWarning('*', Match.anyValue()), ...annotations.findError('*', Match.anyValue())].map(
    (m) => `${m.id}: ${JSON.stringify(m.entry.data)}`,
  );
}

export function resourcesOfType(json: Synthesized['json'], type: string): [string, any][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}
