// `make chaos NODES=3 SEED=1 DURATION=60`: a fresh local cluster behind link proxies,
// live traffic, seeded faults; then heal, drain, check. Exits non-zero on any violation.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { startLocalChaosCluster } from './chaos/local-cluster-adapter.js';
import { PhaseTimeoutError } from './chaos/phase-deadline.js';
import { formatSummary } from './chaos/report.js';
import { runChaos } from './chaos/run.js';

const USAGE = `usage: chaos.ts [--nodes 3|5] [--seed n] [--duration seconds] [--out dir] [--keep-data] [--main dist/main.js] [--mode redirect|forward] [--workload rest|stream]
  Starts its own cluster (node processes from dist/main.js) on free loopback ports,
  injects faults fixed by the seed under live traffic, then checks that nothing
  acknowledged was lost. --workload stream: producers and consumers use the
  WebSocket stream (docs/STREAM.md) instead of REST. Results: <out>/<timestamp>-seed<n>-n<nodes>.json (+ .history.jsonl).`;

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '60' },
      out: { type: 'string', default: 'chaos-results' },
      'keep-data': { type: 'boolean', default: false },
      main: { type: 'string', default: 'dist/main.js' },
      mode: { type: 'string', default: 'redirect' },
      workload: { type: 'string', default: 'rest' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); return 0; }
  const nodes = Number(values.nodes);
  const seed = Number(values.seed);
  const duration = Number(values.duration);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes % 2 === 0) throw new UsageError(`--nodes must be an odd number >= 3, got ${values.nodes}`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${values.seed}`);
  const leaderMode = values.mode;
  if (leaderMode !== 'redirect' && leaderMode !== 'forward') throw new UsageError(`--mode must be redirect or forward, got ${leaderMode}`);
  const transport = values.workload;
  if (transport !== 'rest' && transport !== 'stream') throw new UsageError(`--workload must be rest or stream, got ${transport}`);
  if (!existsSync(resolve(values.main))) throw new UsageError(`${values.main} does not exist: run make build (make chaos does)`);
  if (!Number.isFinite(duration) || duration < 10) throw new UsageError(`--duration must be at least 10 seconds, got ${values.duration}`);

  const abort = new AbortController();
  process.once('SIGINT', () => { console.log('interrupted: stopping faults, then healing and checking'); abort.abort(); });
  const started = Date.now();
  const log = (line: string): void => console.log(line);
  log(`chaos: ${nodes} nodes, seed ${seed}, ${duration} s of faults, ${leaderMode} mode, ${transport} workload`);
  const report = await runChaos({
    nodes, seed, durationMs: duration * 1000, outDir: resolve(values.out),
    startCluster: (opts) => startLocalChaosCluster({ ...opts, keepData: values['keep-data'], mainJs: resolve(values.main), leaderMode, log }),
    log, abort: abort.signal, leaderMode, transport,
  });
  console.log('');
  console.log(formatSummary(report));
  console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return report.valid ? 0 : 1;
}

// Exit explicitly: the cluster and proxies are shut down by then, and a stray keep-alive
// socket must not keep a finished run waiting.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`chaos: ${err.message}\n${USAGE}`);
    // The run logged its state dump already.
    else if (err instanceof PhaseTimeoutError) console.error(`chaos: phase '${err.phase}' did not finish within ${err.budgetMs} ms (state dump above)`);
    else console.error(`chaos: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(2);
  },
);
