import { HOST_PATHS, SERVICE_USER } from './paths.js';

// The systemd unit that runs one broker node. Restart=always because a node that dies
// should rejoin on its own; the data volume must be mounted before it starts, or it
// would come up empty and rejoin as a blank member.

/** The broker's V8 flags (src/runtime-flags.ts, where they are explained; a test of the
 *  root package checks that the two lists agree). */
export const NODE_PROCESS_FLAGS = ['--max-semi-space-size=64', '--initial-old-space-size=128'];

export interface SystemdUnitInput {
  nodeId: string;
}

export function renderSystemdUnit(input: SystemdUnitInput): string {
  if (!/^[a-z0-9-]+$/.test(input.nodeId)) throw new Error(`bad node id: ${input.nodeId}`);
  return [
    '[Unit]',
    `Description=MOM broker node ${input.nodeId}`,
    'Wants=network-online.target',
    'After=network-online.target',
    `RequiresMountsFor=${HOST_PATHS.dataMount}`,
    `ConditionPathExists=${HOST_PATHS.currentRelease}/dist/main.js`,
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    `WorkingDirectory=${HOST_PATHS.currentRelease}`,
    'Environment=NODE_ENV=production',
    `ExecStart=${HOST_PATHS.nodeBinary} ${NODE_PROCESS_FLAGS.join(' ')} ${HOST_PATHS.currentRelease}/dist/main.js --config ${HOST_PATHS.nodeConfig}`,
    'Restart=always',
    'RestartSec=2',
    // SIGTERM lets the node stop accepting, fail pending proposals and close the DB.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'LimitNOFILE=65536',
    `StandardOutput=append:${HOST_PATHS.brokerLog}`,
    `StandardError=append:${HOST_PATHS.brokerLog}`,
    'NoNewPrivileges=true',
    'PrivateTmp=true',
    'ProtectHome=true',
    'ProtectSystem=strict',
    `ReadWritePaths=${HOST_PATHS.dataMount} ${HOST_PATHS.logDir}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
