// The benchmark's cluster: three `node dist/main.js` processes started by the shared
// local launcher (scripts/lib/local-cluster.ts) on free loopback ports in a temp dir,
// with the product's default settings (the figures are what a user gets). BENCH_DIST
// points at another build of the node (default dist/); BENCH_NODE_ARGS adds node flags
// for a diagnosis (e.g. "--trace-gc --trace-gc-nvp", with BENCH_KEEP=1 to keep the logs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../lib/local-cluster.js';
import type { BenchCluster, ClusterLaunch } from './cluster.js';

export async function launchBenchCluster(launch: ClusterLaunch): Promise<BenchCluster> {
  // BENCH_KEEP=1 keeps the data dirs and node logs (printed at the end) for diagnosis.
  const keep = process.env.BENCH_KEEP === '1' ? mkdtempSync(join(tmpdir(), 'mom-bench-')) : undefined;
  const local = await LocalCluster.start({
    nodes: launch.nodes,
    dataRoot: keep,
    entry: ['node', ...(launch.nodeArgs ?? []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), `${process.env.BENCH_DIST ?? 'dist'}/main.js`],
    output: 'file',
  });
  return {
    nodeIds: local.nodes.map((n) => n.id),
    httpUrl: (id) => local.node(id).httpUrl,
    pid: (id) => (local.isRunning(id) ? local.node(id).process?.pid : undefined),
    kill: (id) => local.kill(id, 'SIGKILL'),
    start: async (id) => local.restart(id),
    dataDir: (id) => local.node(id).dataDir,
    async shutdown() {
      // SIGTERM first so profiles and logs are flushed, then remove everything.
      await local.stopAll(10_000);
      await local.destroy();
      if (keep !== undefined) process.stderr.write(`node logs and data kept in ${keep}\n`);
    },
  };
}
