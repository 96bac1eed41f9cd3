// What the chaos runner needs from a running cluster: process-level control of each
// node and where to reach its HTTP API. The local launcher provides it (see adapter).
export interface UnexpectedExit {
  id: string;
  code: number | null;
  signal: string | null;
  atMs: number;
  logFile?: string;
}

/** How a graceful stop went: `forced` when the grace ran out and it was killed. */
export interface GracefulStop {
  ms: number;
  forced: boolean;
}

export interface ClusterControl {
  readonly nodeIds: readonly string[];
  /** Where data dirs and node logs live. */
  readonly dataRoot: string;
  httpUrl(id: string): string;
  /** Where the node writes its log, if it writes one. */
  logFile(id: string): string | undefined;
  /** kill -9. */
  kill(id: string): Promise<void>;
  /** Start a killed or stopped node again on the same ports and data dir (no-op if running). */
  start(id: string): Promise<void>;
  /** SIGTERM, wait for exit (SIGKILL after a grace period), start again. */
  gracefulRestart(id: string): Promise<GracefulStop>;
  /** SIGSTOP / SIGCONT. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Node processes that ended without the runner stopping them. */
  unexpectedExits(): UnexpectedExit[];
  /** Stops every node; removes the data root unless asked to keep it. */
  shutdown(opts: { keepData: boolean }): Promise<void>;
}
