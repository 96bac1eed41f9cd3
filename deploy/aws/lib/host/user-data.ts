import { HTTP_PORT } from '../cluster-layout.js';
import { renderCloudWatchAgentConfig } from './cloudwatch-agent-config.js';
import { renderInstallReleaseScript } from './install-release-script.js';
import { renderIssueNodeCertScript } from './node-tls.js';
import { posix } from 'node:path';
import { AWS_HOST, SERVICE_NAME, SERVICE_USER, type HostLayout } from './paths.js';

// The boot script of one node. It installs Node, mounts the node's own data volume,
// fetches the secrets, writes the config, the unit and the release installer, and
// starts the node on the release the SSM parameter names. It mentions no release, so
// it stays byte-identical across releases and a new release never replaces (or
// restarts) every instance at once: `make aws-rollout` moves nodes one by one.

export interface UserDataInput {
  nodeId: string;
  /** These may be CDK tokens; they resolve inside the user data's Fn::Join. */
  region: string;
  releaseParameterName: string;
  jwtSecretArn: string;
  clusterTokenSecretArn: string;
  /** The seed every node derives the node-to-node TLS CA from (node-tls.ts). */
  tlsCaSeedSecretArn: string;
  clusterId: string;
  /** The node's fixed private IP: its certificate's subject alternative name. */
  privateIp: string;
  dataVolumeId: string;
  logGroupName: string;
  /** Rendered by renderNodeConfig / renderSystemdUnit. */
  nodeConfigJson: string;
  systemdUnit: string;
}

const EOF_MARK = 'MOM_FILE_END';

/** A shell statement writing `content` verbatim (quoted heredoc: no expansion). */
function writeFile(path: string, mode: string, content: string): string {
  if (content.split('\n').includes(EOF_MARK)) throw new Error(`content of ${path} contains ${EOF_MARK}`);
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return `install -m ${mode} /dev/null ${path}\ncat > ${path} <<'${EOF_MARK}'\n${body}${EOF_MARK}`;
}

export function renderUserData(input: UserDataInput, host: HostLayout = AWS_HOST): string {
  const p = host.paths;
  const hostEnv = [
    `NODE_ID=${input.nodeId}`,
    `AWS_REGION=${input.region}`,
    `RELEASE_PARAMETER=${input.releaseParameterName}`,
    `HTTP_PORT=${HTTP_PORT}`,
    '',
  ].join('\n');
  const logrotate = [
    `${p.logDir}/*.log {`,
    '  daily',
    '  rotate 7',
    '  maxsize 100M',
    '  compress',
    '  missingok',
    '  notifempty',
    // The node keeps its log open (systemd append:), so rotate by copying.
    '  copytruncate',
    '}',
    '',
  ].join('\n');

  return `#!/bin/bash
# MOM broker node ${input.nodeId}: first-boot setup. The same for every release.
set -euo pipefail
mkdir -p ${p.logDir}
exec > >(tee -a ${p.bootstrapLog}) 2>&1
echo "bootstrap of node ${input.nodeId} starting at $(date -u +%FT%TZ)"

install -d -m 0755 ${p.configDir}
${writeFile(p.hostEnv, '0644', hostEnv)}
. ${p.hostEnv}
export AWS_REGION

# Node.js 20 from the distribution, plus the CloudWatch agent.
dnf install -y nodejs20 amazon-cloudwatch-agent logrotate openssl || dnf install -y nodejs amazon-cloudwatch-agent logrotate openssl
install -d -m 0755 ${posix.dirname(p.nodeBinary)} ${p.releasesDir}
for candidate in ${host.nodeCandidates.join(' ')}; do
  if [ -x "$candidate" ]; then ln -sfn "$candidate" ${p.nodeBinary}; break; fi
done
major=$(${p.nodeBinary} -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then echo "Node $major is too old (need 20+)" >&2; exit 1; fi

id -u ${SERVICE_USER} >/dev/null 2>&1 || useradd --system --home-dir ${p.dataMount} --shell /sbin/nologin ${SERVICE_USER}

# The node's own EBS volume. CloudFormation attaches it after the instance exists, so wait.
vol=${input.dataVolumeId}
dev=""
for _ in $(seq 1 180); do
  for candidate in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_\${vol//-/}" ${host.extraDeviceCandidates.join(' ')}; do
    if [ ${host.deviceTest} "$candidate" ]; then dev=$(readlink -f "$candidate"); break 2; fi
  done
  sleep 5
done
if [ -z "$dev" ]; then echo "data volume $vol never appeared" >&2; exit 1; fi
# Format only a blank volume: a replaced instance finds the previous node's data.
blkid "$dev" >/dev/null 2>&1 || mkfs.xfs -L momdata "$dev"
uuid=$(blkid -s UUID -o value "$dev")
install -d -m 0755 ${p.dataMount}
grep -q "UUID=$uuid" ${host.fstab} || echo "UUID=$uuid ${p.dataMount} xfs defaults,nofail 0 2" >> ${host.fstab}
mountpoint -q ${p.dataMount} || mount ${p.dataMount}
install -d -m 0750 -o ${SERVICE_USER} -g ${SERVICE_USER} ${p.dataDir}
chown ${SERVICE_USER}:${SERVICE_USER} ${p.dataMount}
install -d -m 0755 -o ${SERVICE_USER} -g ${SERVICE_USER} ${p.logDir}

# Secrets from Secrets Manager, readable by the service user only.
umask 077
aws secretsmanager get-secret-value --secret-id '${input.jwtSecretArn}' --query SecretString --output text > ${p.jwtSecretFile}
aws secretsmanager get-secret-value --secret-id '${input.clusterTokenSecretArn}' --query SecretString --output text > ${p.clusterTokenFile}
chown ${SERVICE_USER}:${SERVICE_USER} ${p.jwtSecretFile} ${p.clusterTokenFile}
chmod 0400 ${p.jwtSecretFile} ${p.clusterTokenFile}
umask 022

# Node-to-node TLS: this node's certificate, from the cluster CA seed, which is not kept.
${writeFile(p.issueNodeCert, '0755', renderIssueNodeCertScript(p))}
install -d -m 0700 ${posix.dirname(p.tlsCaSeedFile)}
(umask 077; aws secretsmanager get-secret-value --secret-id '${input.tlsCaSeedSecretArn}' --query SecretString --output text > ${p.tlsCaSeedFile})
${p.issueNodeCert} ${p.tlsCaSeedFile} ${input.nodeId} ${input.privateIp} '${input.clusterId}'
rm -f ${p.tlsCaSeedFile}
chown ${SERVICE_USER}:${SERVICE_USER} ${p.tlsDir} ${p.tlsKey}
chmod 0755 ${p.tlsDir}

${writeFile(p.nodeConfig, '0644', input.nodeConfigJson)}
${writeFile(p.systemdUnit, '0644', input.systemdUnit)}
${writeFile(p.installRelease, '0755', renderInstallReleaseScript(p))}
${writeFile(p.logrotate, '0644', logrotate)}
${writeFile(p.cloudwatchAgentConfig, '0644', renderCloudWatchAgentConfig({ nodeId: input.nodeId, logGroupName: input.logGroupName }))}

touch ${p.brokerLog}
chown ${SERVICE_USER}:${SERVICE_USER} ${p.brokerLog}
${host.cloudwatchAgentCtl} -a fetch-config -m ec2 -s -c file:${p.cloudwatchAgentConfig}

systemctl daemon-reload
systemctl enable ${SERVICE_NAME}
# Do not wait for /ready here: that needs a quorum, and the other nodes boot in parallel.
${p.installRelease} 0
echo "bootstrap of node ${input.nodeId} done at $(date -u +%FT%TZ)"
`;
}
