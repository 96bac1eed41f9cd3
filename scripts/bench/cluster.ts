// What the benchmark needs from a running cluster (the local launcher provides it):
// where each node answers, its process id for CPU and memory accounting, and kill -9 /
// start for the failover and recovery scenarios.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

/** Bytes under a directory (a node's data dir), 0 if it is gone. */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += directoryBytes(path);
    else if (e.isFile()) {
      try { total += statSync(path).size; } catch { /* removed meanwhile (compaction) */ }
    }
  }
  return total;
}
