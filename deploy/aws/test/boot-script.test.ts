import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planNodes } from '../lib/cluster-layout.js';
import { renderNodeConfig } from '../lib/host/node-config.js';
import { HOST_PATHS, type HostLayout, type HostPaths } from '../lib/host/paths.js';
import { renderSystemdUnit } from '../lib/host/systemd-unit.js';
import { renderUserData } from '../lib/host/user-data.js';
import { cleanScratch, scratchDir } from './support/synth.js';

// Runs the real first-boot script with bash. Its host paths live in a scratch dir, and
// stand-ins on PATH record what only an EC2 host can do: packages (dnf), users, the data
// volume (blkid, mkfs.xfs, mount), ownership (chown, install -o), Secrets Manager, SSM
// and S3 (aws), systemd, the CloudWatch agent. The release installer it writes runs too.

afterAll(cleanScratch);

const layout = planNodes(['10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24']);
const JWT = 'j'.repeat(64);
const TOKEN = 't'.repeat(48);
const SEED = 's'.repeat(64);

function stub(bin: string, name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

function bootHost() {
  const root = scratchDir('mom-boot-host-');
  const bin = join(root, 'stub-bin');
  const record = join(root, 'calls.log');
  const paths = Object.fromEntries(Object.entries(HOST_PATHS).map(([k, v]) => [k, join(root, v)])) as HostPaths;
  const device = join(root, 'dev-xvdf');
  writeFileSync(device, '');
  const host: HostLayout = {
    paths,
    fstab: join(root, 'etc/fstab'),
    nodeCandidates: [join(root, 'usr/bin/node-20'), process.execPath],
    extraDeviceCandidates: [device],
    deviceTest: '-e',
    cloudwatchAgentCtl: join(bin, 'amazon-cloudwatch-agent-ctl'),
  };
  // What the AMI already has.
  for (const dir of ['etc/systemd/system', 'etc/logrotate.d', 'usr/local/bin', 'opt/aws/amazon-cloudwatch-agent/etc', 'bucket', 'stub-bin']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  writeFileSync(host.fstab, '# fstab\n');
  const rec = (name: string) => `echo "${name} $*" >> ${record}`;
  for (const name of ['dnf', 'useradd', 'mkfs.xfs', 'mount', 'chown', 'systemctl', 'amazon-cloudwatch-agent-ctl']) stub(bin, name, rec(name));
  stub(bin, 'id', `${rec('id')}; [ -f ${join(root, 'user-exists')} ]`);
  stub(bin, 'mountpoint', 'exit 1');
  // blkid: blank until mkfs.xfs ran (recorded), then a filesystem with a UUID.
  stub(bin, 'blkid', `grep -q '^mkfs.xfs' ${record} 2>/dev/null || exit 2\nif [ "$1" = "-s" ]; then echo 1111-2222; fi`);
  // install -o/-g need the mom user; drop them and use the real install.
  stub(bin, 'install', 'args=(); while [ $# -gt 0 ]; do case "$1" in -o|-g) shift 2 ;; *) args+=("$1"); shift ;; esac; done; exec /usr/bin/install "${args[@]}"');
  stub(bin, 'aws', [
    `${rec('aws')}`,
    'case "$1 $2" in',
    `  "secretsmanager get-secret-value") case "$4" in *jwt*) echo ${JWT} ;; *token*) echo ${TOKEN} ;; *seed*) echo ${SEED} ;; *) exit 9 ;; esac ;;`,
    `  "ssm get-parameter") echo s3://bucket/abc123.gz ;;`,
    `  "s3 cp") cp ${join(root, 'bucket')}/"\${4#s3://bucket/}" "$5" ;;`,
    '  *) echo "unexpected aws $*" >&2; exit 99 ;;',
    'esac',
  ].join('\n'));
  const release = join(root, 'release');
  mkdirSync(join(release, 'dist'), { recursive: true });
  writeFileSync(join(release, 'dist/main.js'), '// broker\n');
  spawnSync('tar', ['-czf', join(root, 'bucket/abc123.gz'), '-C', release, '.']);

  const script = renderUserData(
    {
      nodeId: 'n2',
      region: 'eu-west-1',
      releaseParameterName: 'MomBroker-ReleaseParameter',
      jwtSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:jwt',
      clusterTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:token',
      tlsCaSeedSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:seed',
      clusterId: 'mom-aws',
      privateIp: layout[1].privateIp,
      dataVolumeId: 'vol-0abc',
      logGroupName: 'MomBroker-Logs',
      nodeConfigJson: renderNodeConfig({ nodeId: 'n2', clusterId: 'mom-aws', nodes: layout }),
      systemdUnit: renderSystemdUnit({ nodeId: 'n2' }),
    },
    host,
  );
  const run = () => {
    // stdin from /dev/null: on a socket (node's pipes) bash would read ~/.bashrc.
    const result = spawnSync('/bin/bash', ['-c', script], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };
  const calls = () => readFileSync(record, 'utf8').trim().split('\n');
  return { root, paths, host, run, calls, markUserExists: () => writeFileSync(join(root, 'user-exists'), '') };
}

describe('first boot script', () => {
  test('sets up the node and starts it on the release the parameter names', () => {
    const host = bootHost();
    const { status, output } = host.run();
    expect(output).not.toMatch(/unexpected|No such file|command not found/);
    expect(status).toBe(0);
    const p = host.paths;

    expect(readFileSync(p.hostEnv, 'utf8')).toBe('NODE_ID=n2\nAWS_REGION=eu-west-1\nRELEASE_PARAMETER=MomBroker-ReleaseParameter\nHTTP_PORT=8080\n');
    expect(readlinkSync(p.nodeBinary)).toBe(process.execPath);
    expect(JSON.parse(readFileSync(p.nodeConfig, 'utf8'))).toMatchObject({ nodeId: 'n2', leaderMode: 'forward', production: true });
    expect(readFileSync(p.systemdUnit, 'utf8')).toBe(renderSystemdUnit({ nodeId: 'n2' }));
    expect(statSync(p.installRelease).mode & 0o777).toBe(0o755);
    expect(existsSync(p.logrotate)).toBe(true);
    expect(JSON.parse(readFileSync(p.cloudwatchAgentConfig, 'utf8')).logs.logs_collected.files.collect_list[0].log_stream_name).toBe('n2');

    // Secrets, readable by the owner only (chown to mom is recorded below).
    expect(readFileSync(p.jwtSecretFile, 'utf8').trim()).toBe(JWT);
    expect(readFileSync(p.clusterTokenFile, 'utf8').trim()).toBe(TOKEN);
    expect(statSync(p.jwtSecretFile).mode & 0o777).toBe(0o400);

    // The blank data volume was formatted once and mounted through fstab.
    const calls = host.calls();
    expect(calls.filter((c) => c.startsWith('mkfs.xfs'))).toEqual([`mkfs.xfs -L momdata ${join(host.root, 'dev-xvdf')}`]);
    expect(readFileSync(host.host.fstab, 'utf8')).toBe(`# fstab\nUUID=1111-2222 ${p.dataMount} xfs defaults,nofail 0 2\n`);
    expect(calls).toContain(`mount ${p.dataMount}`);
    expect(existsSync(p.dataDir)).toBe(true);
    expect(calls).toContain(`useradd --system --home-dir ${p.dataMount} --shell /sbin/nologin mom`);
    expect(calls).toContain(`chown mom:mom ${p.jwtSecretFile} ${p.clusterTokenFile}`);
    expect(calls).toContain(`amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${p.cloudwatchAgentConfig}`);
    expect(calls[0]).toBe('dnf install -y nodejs20 amazon-cloudwatch-agent logrotate openssl');

    // Node-to-node TLS: a certificate for the node's private IP, the seed not kept.
    const cert = spawnSync('openssl', ['x509', '-in', p.tlsCert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(cert.stdout).toContain(`IP Address:${layout[1].privateIp}`);
    expect(spawnSync('openssl', ['verify', '-CAfile', p.tlsCa, p.tlsCert], { encoding: 'utf8' }).stdout.trim()).toBe(`${p.tlsCert}: OK`);
    expect(statSync(p.tlsKey).mode & 0o777).toBe(0o400);
    expect(existsSync(p.tlsCaSeedFile)).toBe(false);
    expect(calls).toContain(`chown mom:mom ${p.tlsDir} ${p.tlsKey}`);
    const config = JSON.parse(readFileSync(p.nodeConfig, 'utf8'));
    expect(config.tls).toEqual({ cert: HOST_PATHS.tlsCert, key: HOST_PATHS.tlsKey, ca: HOST_PATHS.tlsCa });

    // The release is installed and the unit started, in that order.
    expect(readlinkSync(p.currentRelease)).toBe(join(p.releasesDir, 'abc123'));
    expect(readFileSync(join(p.currentRelease, 'dist/main.js'), 'utf8')).toBe('// broker\n');
    const systemd = calls.filter((c) => c.startsWith('systemctl'));
    expect(systemd).toEqual(['systemctl daemon-reload', 'systemctl enable mom-broker', 'systemctl restart mom-broker']);
    expect(readFileSync(p.bootstrapLog, 'utf8')).toContain('bootstrap of node n2 done');
  });

  test('run again on a volume with data: no reformat, no duplicate fstab line', () => {
    const host = bootHost();
    expect(host.run().status).toBe(0);
    host.markUserExists();
    const second = host.run();
    expect(second.status).toBe(0);
    expect(host.calls().filter((c) => c.startsWith('mkfs.xfs'))).toHaveLength(1);
    expect(host.calls().filter((c) => c.startsWith('useradd'))).toHaveLength(1);
    expect(readFileSync(host.host.fstab, 'utf8').match(/UUID=/g)).toHaveLength(1);
    expect(second.output).toContain('release abc123 already installed');
  });
});
