// Every target that talks to AWS checks first, and fails within seconds with a message
// that says what is missing, instead of half-running a deploy.

export interface PreflightEnvironment {
  env: NodeJS.ProcessEnv;
  findExecutable(name: string): string | null;
  runAws(args: string[]): { status: number; stdout: string; stderr: string };
}

export interface PreflightNeeds {
  /** `aws ssm start-session` needs the Session Manager plugin. */
  sessionManagerPlugin?: boolean;
}

export type PreflightResult = { ok: true; account: string; region: string } | { ok: false; message: string };

const CREDENTIAL_HINT =
  'configure credentials with `aws configure`, `aws configure sso` + `aws sso login`, ' +
  'or export AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)';

export function preflight(environment: PreflightEnvironment, needs: PreflightNeeds = {}): PreflightResult {
  if (!environment.findExecutable('aws')) {
    return {
      ok: false,
      message:
        'the AWS CLI v2 (`aws`) is not on PATH. Install it ' +
        '(https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), then ' +
        CREDENTIAL_HINT +
        '.',
    };
  }

  const version = environment.runAws(['--version']);
  const versionText = `${version.stdout} ${version.stderr}`;
  if (version.status === 0 && /aws-cli\/1\./.test(versionText)) {
    return {
      ok: false,
      message: `these targets need the AWS CLI v2, found ${versionText.trim().split(' ')[0]} (v1 has no \`aws logs tail\`). Install v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html`,
    };
  }

  let region = environment.env.AWS_REGION || environment.env.AWS_DEFAULT_REGION || '';
  if (!region) {
    const configured = environment.runAws(['configure', 'get', 'region']);
    region = configured.status === 0 ? configured.stdout.trim() : '';
  }
  if (!region) {
    return {
      ok: false,
      message: 'no AWS region is set: export AWS_REGION (e.g. AWS_REGION=eu-west-1) or run `aws configure set region <region>`.',
    };
  }

  // One attempt with short timeouts: without credentials this fails in seconds.
  const identity = environment.runAws([
    'sts',
    'get-caller-identity',
    '--output',
    'json',
    '--region',
    region,
    '--cli-connect-timeout',
    '5',
    '--cli-read-timeout',
    '10',
  ]);
  if (identity.status !== 0) {
    const reason = identity.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${identity.status}`;
    return { ok: false, message: `no usable AWS credentials (aws sts get-caller-identity: ${reason}). Please ${CREDENTIAL_HINT}.` };
  }
  let account = '';
  try {
    account = String((JSON.parse(identity.stdout) as { Account?: string }).Account ?? '');
  } catch {
    return { ok: false, message: `aws sts get-caller-identity answered something that is not JSON: ${identity.stdout.slice(0, 200)}` };
  }

  if (needs.sessionManagerPlugin && !environment.findExecutable('session-manager-plugin')) {
    return {
      ok: false,
      message:
        'the Session Manager plugin (`session-manager-plugin`) is not on PATH; `aws ssm start-session` needs it. Install it ' +
        '(https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html).',
    };
  }
  return { ok: true, account, region };
}
