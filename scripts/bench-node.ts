// `make bench-node`: acknowledged writes per second of a 3-node cluster through the
// Raft driver (no HTTP). The leader (n1) runs inside this process so proposers call
// RaftNode.propose directly; n2 and n3 are separate processes (the fixture node),
// all on loopback with real LevelDB logs (synced writes) and the gRPC transport.
// 1 KiB entries; 1 and 256 concurrent proposers; p50/p99 commit latency.
import '../src/runtime-tuning.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/node/config.js';
import { createLogger } from '../src/node/logger.js';
import { RaftNode } from '../src/node/raft-node.js';
import { LocalCluster, waitFor } from './lib/local-cluster.js';
import { KV_NODE_ENTRY } from './kv/entry.js';
import { encodePut, KvStateMachine } from './kv/state-machine.js';

/** CPU seconds a process used so far (Linux /proc; 0 elsewhere). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (100/s)
  } catch {
    return 0;
  }
}

interface RunResult {
  proposers: number;
  /** CPU this process (the leader and the proposers) used, as a share of one core. */
  leaderCpuShare: number;
  /** The machine's 1-minute load average at the end of the run (shared machines). */
  loadAvg1m: number;
  /** CPU time all three nodes spent per acknowledged entry (leader + both followers). */
  cpuUsPerEntry: number;
  acked: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const ENTRY_BYTES = Number(arg('bytes', '1024'));
const SECONDS = Number(arg('seconds', '8'));
const CONCURRENCY = arg('proposers', '1,256').split(',').map(Number);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(node: RaftNode, proposers: number, seconds: number, followerPids: (number | undefined)[]): Promise<RunResult> {
  const followersCpu = () => {
    let sum = 0;
    for (const pid of followerPids) sum += processCpuSeconds(pid);
    return sum;
  };
  const followerCpu0 = followersCpu();
  const value = randomBytes(ENTRY_BYTES - 8); // + the key and kv header: 1 KiB commands
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const until = started + seconds * 1000;
  const proposer = async () => {
    while (performance.now() < until) {
      const cmd = encodePut(`k${n++ % 1024}`, value);
      const t0 = performance.now();
      try {
        await node.propose(cmd);
        latencies.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: proposers }, proposer));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const followerCpu = followersCpu() - followerCpu0;
  const totalCpuUs = cpu.user + cpu.system + followerCpu * 1e6;
  const sorted = Float64Array.from(latencies).sort();
  return {
    proposers,
    leaderCpuShare: Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)),
    loadAvg1m: Number(loadavg()[0].toFixed(1)),
    cpuUsPerEntry: latencies.length ? Math.round(totalCpuUs / latencies.length) : 0,
    acked: latencies.length,
    failed,
    seconds: Number(elapsed.toFixed(2)),
    perSecond: Math.round(latencies.length / elapsed),
    p50ms: Number(percentile(sorted, 50).toFixed(3)),
    p90ms: Number(percentile(sorted, 90).toFixed(3)),
    p99ms: Number(percentile(sorted, 99).toFixed(3)),
    maxMs: Number((sorted[sorted.length - 1] ?? NaN).toFixed(3)),
  };
}

async function main(): Promise<void> {
  // BENCH_FOLLOWER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", with
  // BENCH_GRACEFUL=1 so they exit cleanly) profiles the followers.
  const extra = process.env.BENCH_FOLLOWER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const entry = [KV_NODE_ENTRY[0], ...extra, ...KV_NODE_ENTRY.slice(1)];
  const cluster = await LocalCluster.prepare({
    nodes: 3,
    entry,
    output: 'file',
    env: () => ({ MOM_LOG_LEVEL: 'warn' }),
  });
  const registry = new Registry();
  let node: RaftNode | undefined;
  try {
    for (const n of cluster.nodes.slice(1)) cluster.spawnNode(n);
    const n1 = cluster.nodes[0];
    const config = loadConfig(n1.argv.slice(entry.length), {});
    cluster.on('exit', (n: { id: string; logFile: string }) => {
      process.stderr.write(`bench-node: follower ${n.id} exited; see ${n.logFile}\n`);
      process.exit(1);
    });
    node = await RaftNode.start({
      config,
      stateMachine: new KvStateMachine(),
      logger: createLogger('n1', 'warn'),
      registry,
    });
    const leader = node;
    process.stdout.write(`cluster up (data in ${cluster.dataRoot}); making n1 (in this process) the leader...\n`);
    await waitFor(
      async () => {
        const st = leader.status();
        if (st.role === 'leader' && leader.isReady()) return true;
        if (st.leaderId && st.leaderId !== 'n1') {
          await fetch(`${cluster.node(st.leaderId).httpUrl}/transfer/n1`, { method: 'POST' }).catch(() => {});
        }
        return undefined;
      },
      60_000,
      () => `n1 did not become leader: ${JSON.stringify(leader.status())}`,
      200,
    );

    process.stdout.write('warming up...\n');
    const followerPids = cluster.nodes.slice(1).map((n) => n.process?.pid);
    await run(node, 64, 2, followerPids);
    const results: RunResult[] = [];
    for (const c of CONCURRENCY) {
      process.stdout.write(`running ${c} proposer(s) for ${SECONDS} s...\n`);
      results.push(await run(node, c, SECONDS, followerPids));
    }

    const metric = async (name: string) =>
      ((await registry.getSingleMetric(name)?.get())?.values ?? []) as { value: number; metricName?: string }[];
    const batch = await metric('mom_raft_persist_batch_entries');
    const sum = batch.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const count = batch.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const fsync = await metric('mom_raft_fsync_seconds');
    const fsyncSum = fsync.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const fsyncCount = fsync.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;

    process.stdout.write(`\n3-node cluster, ${ENTRY_BYTES} B entries, leader in-process, followers as processes, loopback gRPC, LevelDB synced writes\n`);
    process.stdout.write(`machine: ${cpus().length} cores; the load average and this process's CPU share show how much of it the run got\n`);
    process.stdout.write('proposers | acked/s  | p50 ms | p90 ms | p99 ms | max ms | acked   | failed | leader cpu | load 1m | cpu us/entry (3 nodes)\n');
    process.stdout.write('----------+----------+--------+--------+--------+--------+---------+--------+------------+---------+-----------------------\n');
    for (const r of results) {
      process.stdout.write(
        `${String(r.proposers).padStart(9)} | ${String(r.perSecond).padStart(8)} | ${r.p50ms.toFixed(3).padStart(6)} | ${r.p90ms.toFixed(3).padStart(6)} | ${r.p99ms.toFixed(3).padStart(6)} | ${r.maxMs.toFixed(1).padStart(6)} | ${String(r.acked).padStart(7)} | ${String(r.failed).padStart(6)} | ${r.leaderCpuShare.toFixed(2).padStart(10)} | ${r.loadAvg1m.toFixed(1).padStart(7)} | ${String(r.cpuUsPerEntry).padStart(6)}\n`,
      );
    }
    const avgBatch = count ? sum / count : 0;
    const avgFsync = fsyncCount ? (fsyncSum / fsyncCount) * 1000 : 0;
    process.stdout.write(`leader: ${count} synced log writes, ${avgBatch.toFixed(1)} entries per write on average, ${avgFsync.toFixed(3)} ms per synced write\n`);
    const best = results.find((r) => r.proposers === 256);
    const seq = results.find((r) => r.proposers === 1);
    if (best?.cpuUsPerEntry) {
      const cores = cpus().length;
      process.stdout.write(
        `CPU bound of this machine at that cost: ${cores} cores / ${best.cpuUsPerEntry} us per entry = ${Math.round((cores * 1e6) / best.cpuUsPerEntry)} entries/s if the run had the cores to itself\n`,
      );
    }
    if (best) process.stdout.write(`target >= 30000 acked/s with 256 proposers: ${best.perSecond >= 30_000 ? 'met' : 'NOT met'} (${best.perSecond})\n`);
    if (seq) process.stdout.write(`target sequential p50 < 0.5 ms: ${seq.p50ms < 0.5 ? 'met' : 'NOT met'} (${seq.p50ms} ms)\n`);

    mkdirSync('bench-results', { recursive: true });
    writeFileSync(
      'bench-results/bench-node.json',
      JSON.stringify({ at: new Date().toISOString(), entryBytes: ENTRY_BYTES, seconds: SECONDS, results, leaderAvgEntriesPerWrite: avgBatch, leaderAvgSyncedWriteMs: avgFsync }, null, 2) + '\n',
    );
    process.stdout.write('results written to bench-results/bench-node.json\n');
  } finally {
    await node?.stop();
    cluster.removeAllListeners('exit');
    if (process.env.BENCH_GRACEFUL) await cluster.stopAll(); // lets NODE_OPTIONS=--cpu-prof followers write profiles
    await cluster.destroy();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench-node: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
