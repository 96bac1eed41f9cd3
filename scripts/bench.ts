// `make bench`: starts a fresh 3-node cluster (HTTP + JWT + Raft + fsync), registers a
// user, warms up, runs each scenario, prints one table beside the targets and writes the
// full results to bench-results/<timestamp>.json. QUICK=1 or --quick: one short run of
// each. BENCH=all or --all: also the heavy scenarios 8 (recovery) and 9 (backlog), each
// on its own fresh cluster. --only 2,7: just those. --profile: CPU profile of the
// leader during scenario 2 (see scripts/bench/profile-run.ts).
// The load generator shares the 2 cores with the nodes: it runs with their V8 settings.
import '../src/runtime-tuning.js';
import { BrokerLink } from './bench/client.js';
import { launchBenchCluster } from './bench/local.js';
import type { BenchCluster } from './bench/cluster.js';
import type { BenchContext } from './bench/context.js';
import { commitInfo, machineInfo } from './bench/machine.js';
import { parseOptions, type BenchOptions } from './bench/options.js';
import { runProfile } from './bench/profile-run.js';
import { Progress } from './bench/progress.js';
import { printSummary, writeReport, type BenchReport } from './bench/report.js';
import type { ScenarioResult } from './bench/results.js';
import { runScenario, type Scenario } from './bench/scenario.js';
import { failover } from './bench/scenarios/failover.js';
import { fanout } from './bench/scenarios/fanout.js';
import { backlog } from './bench/scenarios/backlog.js';
import { endToEnd } from './bench/scenarios/end-to-end.js';
import { receiveAck } from './bench/scenarios/receive-ack.js';
import { recovery } from './bench/scenarios/recovery.js';
import { batchedSend10, batchedSend100, pipelinedSend, sequentialSend } from './bench/scenarios/send-load.js';
import { streamConsume, streamSend, streamSequential } from './bench/scenarios/stream.js';
import { prepareCluster, warmUp } from './bench/setup.js';

/** Scenarios sharing the first cluster, in order. */
const SHARED: Scenario[] = [sequentialSend, pipelinedSend, batchedSend10, batchedSend100, receiveAck, endToEnd, fanout, failover, streamSequential, streamSend, streamConsume];
/** Heavy scenarios, each on a fresh cluster of its own so earlier load does not blur them. */
const ISOLATED: Scenario[] = [backlog, recovery];

async function withCluster<T>(options: BenchOptions, progress: Progress, clusters: BenchCluster[], fn: (ctx: BenchContext) => Promise<T>, nodeArgs?: string[]): Promise<T> {
  progress.log(`starting a fresh 3-node cluster${nodeArgs ? ` (node ${nodeArgs.join(' ')})` : ''} ...`);
  const cluster = await launchBenchCluster({ nodes: 3, ...(nodeArgs ? { nodeArgs } : {}) });
  clusters.push(cluster);
  const link = new BrokerLink(cluster.nodeIds.map((id) => cluster.httpUrl(id)));
  const ctx: BenchContext = { options, cluster, link, progress };
  try {
    await prepareCluster(ctx);
    return await fn(ctx);
  } finally {
    await link.close();
    await cluster.shutdown();
    clusters.splice(clusters.indexOf(cluster), 1);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const progress = new Progress();
  const clusters: BenchCluster[] = [];
  const onSignal = () => {
    void Promise.all(clusters.map((c) => c.shutdown())).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  if (options.profile) {
    await runProfile(options, progress, clusters);
    return;
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const results: ScenarioResult[] = [];
  const shared = SHARED.filter((s) => options.scenarios.has(s.id));
  if (shared.length > 0) {
    await withCluster(options, progress, clusters, async (ctx) => {
      await warmUp(ctx);
      for (const scenario of shared) results.push(await runScenario(ctx, scenario));
    });
  }
  for (const scenario of ISOLATED.filter((s) => options.scenarios.has(s.id))) {
    await withCluster(options, progress, clusters, async (ctx) => {
      results.push(await runScenario(ctx, scenario));
    }, scenario.nodeArgs);
  }
  results.sort((a, b) => a.id - b.id);

  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    totalMs: performance.now() - t0,
    machine: machineInfo(),
    git: commitInfo(),
    config: { ...options, scenarios: [...options.scenarios].sort((a, b) => a - b) },
    cluster: { nodes: 3, transport: 'HTTP/1.1 keep-alive on loopback, writes sent to the leader', durability: 'every acknowledged write fsynced on a majority' },
    scenarios: results,
  };
  const file = writeReport(report, options.outDir);
  printSummary(report, file);
  if (results.some((r) => r.failed !== undefined)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
