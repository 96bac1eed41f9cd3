// Where things live on a node's host. One place, so the user data, the systemd unit,
// the node config and the release installer agree.

export const HOST_PATHS = {
  configDir: '/etc/mom',
  nodeConfig: '/etc/mom/node.json',
  hostEnv: '/etc/mom/host.env',
  jwtSecretFile: '/etc/mom/jwt-secret',
  clusterTokenFile: '/etc/mom/cluster-token',
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
