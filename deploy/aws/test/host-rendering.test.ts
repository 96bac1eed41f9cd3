import { spawnSync } from 'node:child_process';
import { planNodes } from '../lib/cluster-layout.js';
import { renderCloudWatchAgentConfig } from '../lib/host/cloudwatch-agent-config.js';
import { renderInstallReleaseScript } from '../lib/host/install-release-script.js';
import { nodeConfig, renderNodeConfig } from '../lib/host/node-config.js';
import { HOST_PATHS } from '../lib/host/paths.js';
import { renderSystemdUnit } from '../lib/host/systemd-unit.js';
import { renderUserData, type UserDataInput } from '../lib/host/user-data.js';

const layout = planNodes(['10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24']);

function bashSyntaxErrors(script: string): string {
  const result = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  return result.status === 0 ? '' : result.stderr;
}

function unitSections(unit: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of unit.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1], current);
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      current?.set(line.slice(0, at), line.slice(at + 1));
    }
  }
  return sections;
}

describe('node config', () => {
  test('forward mode, production, secrets by file, every peer including itself', () => {
    const config = nodeConfig({ nodeId: 'n2', clusterId: 'mom-aws', nodes: layout, trustedProxies: ['10.20.0.0/24', '10.20.1.0/24'] });
    expect(config).toEqual({
      nodeId: 'n2',
      clusterId: 'mom-aws',
      clusterTokenFile: '/etc/mom/cluster-token',
      httpListen: '0.0.0.0:8080',
      grpcListen: '0.0.0.0:9090',
      advertisedHttpUrl: 'http://10.20.4.10:8080',
      peers: [
        { id: 'n1', grpcAddress: '10.20.3.10:9090', httpUrl: 'http://10.20.3.10:8080' },
        { id: 'n2', grpcAddress: '10.20.4.10:9090', httpUrl: 'http://10.20.4.10:8080' },
        { id: 'n3', grpcAddress: '10.20.5.10:9090', httpUrl: 'http://10.20.5.10:8080' },
      ],
      dataDir: '/var/lib/mom/data',
      jwtSecretFile: '/etc/mom/jwt-secret',
      tls: { cert: '/etc/mom/tls/node.pem', key: '/etc/mom/tls/node.key', ca: '/etc/mom/tls/ca.pem' },
      trustedProxies: ['10.20.0.0/24', '10.20.1.0/24'],
      leaderMode: 'forward',
      production: true,
      logLevel: 'info',
    });
    const text = renderNodeConfig({ nodeId: 'n1', clusterId: 'c', nodes: layout, logLevel: 'debug' });
    expect(JSON.parse(text)).toMatchObject({ nodeId: 'n1', logLevel: 'debug' });
    expect(text).not.toMatch(/jwtSecret"|clusterToken"/);
    expect(() => nodeConfig({ nodeId: 'n9', clusterId: 'c', nodes: layout })).toThrow(/not in the cluster/);
  });
});

describe('systemd unit', () => {
  test('runs the current release with the node config as the service user, restarting on failure', () => {
    const unit = unitSections(renderSystemdUnit({ nodeId: 'n3' }));
    expect(unit.get('Unit')?.get('Description')).toBe('MOM broker node n3');
    expect(unit.get('Unit')?.get('RequiresMountsFor')).toBe('/var/lib/mom');
    const service = unit.get('Service');
    expect(service?.get('ExecStart')).toBe('/opt/mom/bin/node --max-semi-space-size=64 --initial-old-space-size=128 /opt/mom/current/dist/main.js --config /etc/mom/node.json');
    expect(service?.get('User')).toBe('mom');
    expect(service?.get('Restart')).toBe('always');
    expect(service?.get('KillSignal')).toBe('SIGTERM');
    expect(service?.get('ReadWritePaths')).toBe('/var/lib/mom /var/log/mom');
    expect(service?.get('StandardOutput')).toBe('append:/var/log/mom/broker.log');
    expect(unit.get('Install')?.get('WantedBy')).toBe('multi-user.target');
    expect(() => renderSystemdUnit({ nodeId: 'n1; rm -rf /' })).toThrow(/bad node id/);
  });
});

describe('user data', () => {
  const input: UserDataInput = {
    nodeId: 'n1',
    region: 'eu-west-1',
    releaseParameterName: 'MomBroker-ReleaseParameter-abc',
    jwtSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCd',
    clusterTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-EfGh',
    tlsCaSeedSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:seed-IjKl',
    clusterId: 'mom-aws',
    privateIp: layout[0].privateIp,
    dataVolumeId: 'vol-0123456789abcdef0',
    logGroupName: 'MomBroker-Logs-xyz',
    nodeConfigJson: renderNodeConfig({ nodeId: 'n1', clusterId: 'mom-aws', nodes: layout }),
    systemdUnit: renderSystemdUnit({ nodeId: 'n1' }),
  };
  const script = renderUserData(input);

  test('is valid bash that stops on the first error', () => {
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain('set -euo pipefail');
    expect(bashSyntaxErrors(script)).toBe('');
  });

  test('writes the rendered config and unit verbatim', () => {
    expect(script).toContain(`cat > ${HOST_PATHS.nodeConfig} <<'MOM_FILE_END'\n${input.nodeConfigJson}MOM_FILE_END`);
    expect(script).toContain(`cat > ${HOST_PATHS.systemdUnit} <<'MOM_FILE_END'\n${input.systemdUnit}MOM_FILE_END`);
    expect(script).toContain(`cat > ${HOST_PATHS.installRelease} <<'MOM_FILE_END'\n${renderInstallReleaseScript()}MOM_FILE_END`);
  });

  test('fetches the secrets and names the release only through the SSM parameter', () => {
    expect(script).toContain(`--secret-id '${input.jwtSecretArn}'`);
    expect(script).toContain(`--secret-id '${input.clusterTokenSecretArn}'`);
    expect(script).toContain(`RELEASE_PARAMETER=${input.releaseParameterName}`);
    expect(script.replace(renderInstallReleaseScript(), '')).not.toMatch(/s3:\/\//);
    expect(script).toContain(`${HOST_PATHS.installRelease} 0\n`);
  });

  test('mounts the node own volume without reformatting a volume that has data', () => {
    expect(script).toContain('vol=vol-0123456789abcdef0');
    expect(script).toContain('blkid "$dev" >/dev/null 2>&1 || mkfs.xfs');
  });

  test('fits the 16 KB EC2 user-data limit, with room to spare', () => {
    const longest = renderUserData({
      ...input,
      region: 'ap-southeast-2',
      releaseParameterName: 'CFN-MomBrokerReleaseParameter82BF5B27-AbCdEfGhIjKl',
      jwtSecretArn: 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:JwtSecretB8834B39-AbCdEfGhIjKl-AbCdEf',
      clusterTokenSecretArn: 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:ClusterToken33B4ECDE-AbCdEfGhIjKl-AbCdEf',
      logGroupName: 'MomBroker-Logs12345678-AbCdEfGhIjKl',
    });
    expect(Buffer.byteLength(longest)).toBeLessThan(12 * 1024);
  });

  test('a file containing the heredoc terminator is refused', () => {
    expect(() => renderUserData({ ...input, systemdUnit: 'x\nMOM_FILE_END\ny' })).toThrow(/MOM_FILE_END/);
  });

  test('the release installer is valid bash and waits for /ready only when asked', () => {
    const installer = renderInstallReleaseScript();
    expect(bashSyntaxErrors(installer)).toBe('');
    expect(installer).toContain('if [ "$ready_timeout" -gt 0 ]; then');
    expect(installer).toContain('/ready');
    expect(installer).toContain('systemctl restart mom-broker');
  });

  test('the CloudWatch agent ships the broker log to one stream per node', () => {
    const config = JSON.parse(renderCloudWatchAgentConfig({ nodeId: 'n2', logGroupName: 'G' }));
    expect(config.logs.logs_collected.files.collect_list).toEqual([
      expect.objectContaining({ file_path: '/var/log/mom/broker.log', log_group_name: 'G', log_stream_name: 'n2' }),
      expect.objectContaining({ file_path: '/var/log/mom/bootstrap.log', log_group_name: 'G', log_stream_name: 'n2-bootstrap' }),
    ]);
  });
});
