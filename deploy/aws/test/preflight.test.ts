import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../lib/ops/aws-cli.js';
import { preflight, type PreflightEnvironment } from '../lib/ops/preflight.js';
import { cleanScratch, scratchDir } from './support/synth.js';

afterAll(cleanScratch);

type Answer = { status: number; stdout: string; stderr: string };
function environment(options: { aws?: boolean; plugin?: boolean; env?: NodeJS.ProcessEnv; answers?: Record<string, Answer> }): PreflightEnvironment & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    env: options.env ?? {},
    findExecutable: (name) => ((name === 'aws' && options.aws !== false) || (name === 'session-manager-plugin' && options.plugin) ? `/usr/bin/${name}` : null),
    runAws: (args) => {
      calls.push(args);
      return options.answers?.[args[0]] ?? { status: 1, stdout: '', stderr: 'unexpected call' };
    },
  };
}
const v2 = { status: 0, stdout: 'aws-cli/2.22.0 Python/3.12.6 Linux/6.1 exe/x86_64\n', stderr: '' };
const identity = { status: 0, stdout: '{"UserId":"AIDA","Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/me"}', stderr: '' };

describe('preflight', () => {
  test('no AWS CLI: says so and where to get it, without running anything', () => {
    const env = environment({ aws: false });
    const result = preflight(env);
    expect(result).toEqual({ ok: false, message: expect.stringContaining('AWS CLI v2 (`aws`) is not on PATH') });
    expect(env.calls).toEqual([]);
  });

  test('AWS CLI v1 is refused', () => {
    const result = preflight(environment({ answers: { '--version': { status: 0, stdout: 'aws-cli/1.45.11 Python/3.11.7', stderr: '' } } }));
    expect(result).toEqual({ ok: false, message: expect.stringContaining('need the AWS CLI v2, found aws-cli/1.45.11') });
  });

  test('no region', () => {
    const result = preflight(environment({ answers: { '--version': v2, configure: { status: 1, stdout: '', stderr: '' } } }));
    expect(result).toEqual({ ok: false, message: expect.stringContaining('no AWS region is set: export AWS_REGION') });
  });

  test('no credentials: one short sts call, and how to configure them', () => {
    const env = environment({
      env: { AWS_REGION: 'eu-west-1' },
      answers: { '--version': v2, sts: { status: 253, stdout: '', stderr: '\nUnable to locate credentials. You can configure credentials by running "aws configure".\n' } },
    });
    const result = preflight(env);
    expect(result).toEqual({ ok: false, message: expect.stringMatching(/^no usable AWS credentials \(aws sts get-caller-identity: Unable to locate credentials.*aws configure/) });
    expect(env.calls.find((c) => c[0] === 'sts')).toEqual(expect.arrayContaining(['--region', 'eu-west-1', '--cli-connect-timeout', '5']));
  });

  test('all set: account and region', () => {
    const env = environment({ env: { AWS_DEFAULT_REGION: 'us-east-2' }, answers: { '--version': v2, sts: identity } });
    expect(preflight(env)).toEqual({ ok: true, account: '123456789012', region: 'us-east-2' });
    expect(preflight(env, { sessionManagerPlugin: true })).toEqual({ ok: false, message: expect.stringContaining('session-manager-plugin') });
    expect(preflight(environment({ plugin: true, env: { AWS_REGION: 'x' }, answers: { '--version': v2, sts: identity } }), { sessionManagerPlugin: true }).ok).toBe(true);
  });
});

// The real targets, through make from the repository root, in an environment with no
// AWS configuration at all. Each must stop at once with its message, before bundling
// or deploying anything.
describe('make targets without AWS', () => {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const credentialed = ['aws-bootstrap', 'aws-diff', 'aws-deploy', 'aws-rollout', 'aws-status', 'aws-logs', 'aws-ssh', 'aws-destroy'];

  function sandbox(withAwsStub: boolean): NodeJS.ProcessEnv {
    const home = scratchDir('mom-no-aws-home-');
    const bin = join(home, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    if (withAwsStub) {
      // Stands in for an AWS CLI v2 that has no credentials configured.
      writeFileSync(
        join(bin, 'aws'),
        [
          '#!/bin/bash',
          'case "$1" in',
          '  --version) echo "aws-cli/2.22.0 Python/3.12.6 Linux/6.1 exe/x86_64"; exit 0 ;;',
          '  configure) exit 1 ;;',
          '  sts) echo "Unable to locate credentials. You can configure credentials by running \\"aws configure\\"." >&2; exit 253 ;;',
          'esac',
          'echo "unexpected: aws $*" >&2; exit 99',
          '',
        ].join('\n'),
      );
      chmodSync(join(bin, 'aws'), 0o755);
    }
    return { PATH: bin, HOME: home, AWS_REGION: withAwsStub ? 'eu-west-1' : '' };
  }

  const makeCommand = findExecutable('make') ?? 'make';

  function make(target: string, env: NodeJS.ProcessEnv) {
    const result = spawnSync(makeCommand, ['--no-print-directory', '-C', repoRoot, target], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test.each(credentialed)('%s without an AWS CLI', (target) => {
    const { status, output } = make(target, sandbox(false));
    expect(status).not.toBe(0);
    expect(output).toContain(`${target}: the AWS CLI v2 (\`aws\`) is not on PATH`);
    expect(output).not.toMatch(/installing production dependencies|cdk (deploy|diff|bootstrap)/);
  });

  test.each(credentialed)('%s without credentials', (target) => {
    const { status, output } = make(target, sandbox(true));
    expect(status).not.toBe(0);
    expect(output).toContain(`${target}: no usable AWS credentials (aws sts get-caller-identity: Unable to locate credentials`);
    expect(output).not.toContain('unexpected: aws');
  });
});
