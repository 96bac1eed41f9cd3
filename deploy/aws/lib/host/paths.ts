// Where things live on a node's host. One place, so the user data, the systemd unit,
// the node config and the release installer agree.

export const HOST_PATHS = {
  configDir: '/etc/mom',
  nodeConfig: '/etc/mom/node.json',
  hostEnv: '/etc/mom/host.env',
  jwtSecretFile: '/etc/mom/jwt-secret',
  clusterTokenFile: '/etc/mom/cluster-token',
  /** Node-to-node TLS: the cluster CA certificate, this node's certificate and key. */
  tlsDir: '/etc/mom/tls',
  tlsCa: '/etc/mom/tls/ca.pem',
  tlsCert: '/etc/mom/tls/node.pem',
  tlsKey: '/etc/mom/tls/node.key',
  /** Where the CA seed is held while the node's certificate is issued (then removed). */
  tlsCaSeedFile: '/etc/mom/tls/ca-seed',
  issueNodeCert: '/usr/local/bin/mom-issue-node-cert',
  /** Mount point of the node's own EBS data volume. */
  dataMount: '/var/lib/mom',
  dataDir: '/var/lib/mom/data',
  releasesDir: '/opt/mom/releases',
  /** Symlink to the installed release in use; switched atomically by the installer. */
  currentRelease: '/opt/mom/current',
  nodeBinary: '/opt/mom/bin/node',
  installRelease: '/usr/local/bin/mom-install-release',
  logDir: '/var/log/mom',
  brokerLog: '/var/log/mom/broker.log',
  bootstrapLog: '/var/log/mom/bootstrap.log',
  systemdUnit: '/etc/systemd/system/mom-broker.service',
  cloudwatchAgentConfig: '/opt/aws/amazon-cloudwatch-agent/etc/mom-agent.json',
  logrotate: '/etc/logrotate.d/mom',
} as const;

export const SERVICE_NAME = 'mom-broker';
export const SERVICE_USER = 'mom';

export type HostPaths = Record<keyof typeof HOST_PATHS, string>;

/** Everything the boot script assumes about the host; tests move it into a scratch dir. */
export interface HostLayout {
  paths: HostPaths;
  fstab: string;
  /** Where the distribution's Node.js 20+ may be, in order of preference. */
  nodeCandidates: readonly string[];
  /** Device names of the data volume besides its NVMe by-id link (Xen instance types). */
  extraDeviceCandidates: readonly string[];
  /** The shell test that a device candidate exists: '-b', a block device, on a real host. */
  deviceTest: '-b' | '-e';
  cloudwatchAgentCtl: string;
}

export const AWS_HOST: HostLayout = {
  paths: HOST_PATHS,
  fstab: '/etc/fstab',
  nodeCandidates: ['/usr/bin/node-20', '/usr/bin/node-22', '/usr/bin/node'],
  extraDeviceCandidates: ['/dev/xvdf', '/dev/sdf'],
  deviceTest: '-b',
  cloudwatchAgentCtl: '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl',
};
