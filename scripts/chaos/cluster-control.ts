// What the chaos runner needs from a running cluster: process-level control of each
// node and where to reach its HTTP API. The local launcher provides it (see adapter).
export interface ClusterControl {
  readonly nodeIds: readonly string[];
  httpUrl(id: string): string;
  /** kill -9. */
  kill(id: string): Promise<void>;
  /** Start a killed or stopped node again on the same ports and data dir. */
  start(id: string): Promise<void>;
  /** SIGTERM, wait for exit, start again. */
  gracefulRestart(id: string): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Stops every node and removes what the cluster created. */
  shutdown(): Promise<void>;
}
