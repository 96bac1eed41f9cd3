// What the benchmark needs from a running cluster (the local launcher provides it):
// where each node answers, its process id for CPU and memory accounting, and kill -9 /
// start for the failover and recovery scenarios.
export interface BenchCluster {
  readonly nodeIds: readonly string[];
  httpUrl(id: string): string;
  /** Process id of the running node, undefined while it is down. */
  pid(id: string): number | undefined;
  /** kill -9. */
  kill(id: string): Promise<void>;
  /** Starts a killed node again on the same ports and data dir; resolves once spawned. */
  start(id: string): Promise<void>;
  /** The node's data directory (its size is reported after a fill). */
  dataDir(id: string): string;
  /** Stops every node (SIGTERM, so profiles get written) and removes what was created. */
  shutdown(): Promise<void>;
}

export interface ClusterLaunch {
  nodes: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}
