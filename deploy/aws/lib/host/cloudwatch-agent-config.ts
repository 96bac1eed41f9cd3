import { HOST_PATHS } from './paths.js';

// The CloudWatch agent ships the node's JSON log lines (pino) and its bootstrap log to
// the stack's log group, one stream per node, so `make aws-logs` can tail them.

export interface CloudWatchAgentInput {
  nodeId: string;
  logGroupName: string;
}

export function renderCloudWatchAgentConfig(input: CloudWatchAgentInput): string {
  const config = {
    agent: { run_as_user: 'root' },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: HOST_PATHS.brokerLog,
              log_group_name: input.logGroupName,
              log_stream_name: input.nodeId,
              timezone: 'UTC',
            },
            {
              file_path: HOST_PATHS.bootstrapLog,
              log_group_name: input.logGroupName,
              log_stream_name: `${input.nodeId}-bootstrap`,
              timezone: 'UTC',
            },
          ],
        },
      },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
