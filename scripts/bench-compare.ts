// `make bench-compare`: this broker and RabbitMQ quorum queues side by side on this
// machine, in one invocation. Both clusters run 3 nodes on 127.0.0.1 with 1 KiB messages,
// every send acknowledged after a majority fsync. Rows (see scripts/bench/compare/rows.ts):
// 1 send, 1 in flight; 2 send, 256 in flight; 3 receive+ack (max 10, 16 consumers);
// 4 batches of 100, 32 in flight. Each row runs --runs times on each system, the two
// alternating (the first system changes from run to run); the table shows medians, the
// ratio and the server and client CPU per message. RabbitMQ comes from Debian's
// rabbitmq-server package; without it this prints how to install it and exits 2.
// Options: --runs N, --duration S, --rows 1,2, --drain N, --amqp-connections N, --quick.
import '../src/runtime-tuning.js';
import { BrokerLink } from './bench/client.js';
import type { BenchCluster } from './bench/cluster.js';
import { serverPids, type BenchContext } from './bench/context.js';
import { launchBenchCluster } from './bench/local.js';
import { commitInfo, machineInfo } from './bench/machine.js';
import { parseOptions } from './bench/options.js';
import { PrefixedProgress, Progress } from './bench/progress.js';
import { timestampName } from './bench/report.js';
import type { RunOutcome } from './bench/results.js';
import { electionNotes, errorNotes } from './bench/scenario.js';
import { prepareCluster, warmUp } from './bench/setup.js';
import { formatDuration } from './bench/table.js';
import { AMQP_QUEUES, amqpSendLoad, declareQueues, queueLeader, type AmqpSide } from './bench/compare/amqp-load.js';
import { compareTable, hopsTable, summarizeSide, type CompareRowResult } from './bench/compare/compare-table.js';
import { parseCompareOptions, runOrder, type CompareOptions } from './bench/compare/options.js';
import { findRabbitScripts, INSTALL_HINT, RabbitCluster } from './bench/compare/rabbit-cluster.js';
import { AMQP_BODY, COMPARE_ROWS, oursOptions } from './bench/compare/rows.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Running {
  ours?: BenchCluster;
  oursLink?: BrokerLink;
  rabbit?: RabbitCluster;
  /** Set by the first stop: a signal and main's finally share one. */
  stopping?: Promise<void>;
}

function stopAll(running: Running): Promise<void> {
  running.stopping ??= (async () => {
    await running.oursLink?.close().catch(() => undefined);
    await Promise.all([running.ours?.shutdown(), running.rabbit?.stop()]);
  })();
  return running.stopping;
}

async function startOurs(options: CompareOptions, progress: Progress, running: Running): Promise<BenchContext> {
  progress.log('this broker: starting a fresh 3-node cluster ...');
  const cluster = await launchBenchCluster({ nodes: 3 });
  running.ours = cluster;
  const link = new BrokerLink(cluster.nodeIds.map((id) => cluster.httpUrl(id)));
  running.oursLink = link;
  const ctx: BenchContext = { options: oursOptions(parseOptions([], {}), options), cluster, link, progress: new PrefixedProgress('this broker: ') };
  await prepareCluster(ctx);
  await warmUp(ctx);
  return ctx;
}

async function startRabbit(options: CompareOptions, scriptsDir: string, progress: Progress, running: Running, idlePids: () => Record<string, number | undefined>): Promise<AmqpSide> {
  progress.log('RabbitMQ: starting a fresh 3-node cluster (quorum queues) ...');
  const t0 = performance.now();
  const cluster = await RabbitCluster.prepare({ scriptsDir, nodes: 3, amqpBase: options.amqpPortBase, distBase: options.distPortBase, log: (l) => progress.log(l) });
  // Known before it boots, so a Ctrl-C during the start stops it too.
  running.rabbit = cluster;
  await cluster.boot();
  await declareQueues(cluster.amqpUrl(cluster.nodes[0].id));
  const leaderId = await queueLeader(cluster, AMQP_QUEUES.pipelined);
  progress.log(`  RabbitMQ: 3 nodes up after ${formatDuration(performance.now() - t0)}; quorum queues led by ${leaderId}`);
  const side: AmqpSide = { cluster, leaderId, progress: new PrefixedProgress('RabbitMQ: '), idlePids };
  await amqpSendLoad(side, { queue: AMQP_QUEUES.warmup, perOp: 1, inFlight: 256, connections: 64, durationMs: options.warmupMs }, AMQP_BODY, 'warm-up');
  return side;
}

async function main(): Promise<void> {
  const options = parseCompareOptions(process.argv.slice(2), process.env);
  const scriptsDir = findRabbitScripts(process.env);
  if (scriptsDir === undefined) {
    process.stderr.write(`${INSTALL_HINT}\n`);
    process.exit(2);
  }
  const progress = new Progress();
  const running: Running = {};
  let interrupted = false;
  const onSignal = () => {
    // A second Ctrl-C must not kill the bench before it has stopped RabbitMQ.
    if (interrupted) return progress.log('still stopping both clusters ...');
    interrupted = true;
    progress.log('interrupted: stopping both clusters ...');
    void stopAll(running).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedAt = new Date();
  const t0 = performance.now();
  const results: CompareRowResult[] = [];
  const raw: Array<{ row: number; ours: RunOutcome[]; rabbit: RunOutcome[] }> = [];
  try {
    const ctx = await startOurs(options, progress, running);
    const side = await startRabbit(options, scriptsDir, progress, running, () => serverPids(ctx.cluster));
    const rows = COMPARE_ROWS.filter((r) => options.rows.includes(r.id));
    for (const [rowIndex, row] of rows.entries()) {
      if (interrupted) break;
      progress.log(`${row.id}. ${row.title} (${options.runs} run${options.runs > 1 ? 's' : ''} each, alternating)`);
      const ours: RunOutcome[] = [];
      const rabbit: RunOutcome[] = [];
      let oursFailed: string | undefined;
      let rabbitFailed: string | undefined;
      try {
        await row.ours.setup?.(ctx);
      } catch (err) {
        oursFailed = err instanceof Error ? err.message : String(err);
      }
      for (let run = 0; run < options.runs; run++) {
        for (const who of runOrder(rowIndex, run)) {
          if (interrupted) break;
          const label = `run ${run + 1}/${options.runs}`;
          try {
            if (who === 'ours' && oursFailed === undefined) {
              // The idle RabbitMQ counts as "other" here, as this broker does in RabbitMQ's runs.
              ours.push(await row.ours.run(ctx, run, options.runs));
            } else if (who === 'rabbit' && rabbitFailed === undefined) {
              rabbit.push(await row.rabbit(side, options, label));
            }
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            progress.log(`  ${who === 'ours' ? 'this broker' : 'RabbitMQ'}: ${label} failed: ${message}`);
            if (who === 'ours') oursFailed = message;
            else rabbitFailed = message;
          }
        }
      }
      results.push({ id: row.id, title: row.title, unit: row.unit, latency: row.latency, ours: summarizeSide(ours, oursFailed), rabbit: summarizeSide(rabbit, rabbitFailed) });
      raw.push({ row: row.id, ours, rabbit });
    }
  } finally {
    if (!interrupted) progress.log('stopping both clusters ...');
    await stopAll(running);
  }
  // Runs cut short by the signal measure nothing: no table (the signal handler exits 130).
  if (interrupted) return;

  const m = machineInfo();
  const git = commitInfo();
  const out = [
    '',
    `bench-compare: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, commit ${git.commit.slice(0, 10)}${git.dirty ? ' (src modified)' : ''}`,
    `3 nodes each on 127.0.0.1, 1 KiB messages, every send acknowledged after a majority fsync; medians of ${options.runs} run${options.runs > 1 ? 's' : ''} of ${formatDuration(options.durationMs)} (row 3: drain ${options.drainMessages.toLocaleString('en-US')})`,
    'this broker: REST over HTTP/1.1 keep-alive (undici) to the leader. RabbitMQ 3.10 quorum queues: amqplib to the queue leader,',
    `publisher confirms over ${options.amqpConnections === undefined ? '1, 8 and 32 connections (rows 1, 2, 4)' : `${options.amqpConnections} connections`}, consumers with basic.qos prefetch 10 acking what they hold.`,
    '',
    compareTable(results),
    '',
    'ratio: this broker\'s msg/s over RabbitMQ\'s. CPU per message: server = all 3 nodes (RabbitMQ: the beam.smp processes),',
    'client = this bench process (undici or amqplib). * = other processes took over 20 % of the machine in some run.',
    '',
    'CPU per message by hop (µs, runs summed; leader = the node leading when a run started; other = the rest of the machine, the idle system included):',
    hopsTable(results),
    ...results.flatMap((r) => {
      const runs = raw.find((x) => x.row === r.id);
      return [
        ...(r.ours.failed !== undefined ? [`note (${r.id}): this broker failed: ${r.ours.failed}`] : []),
        ...(r.rabbit.failed !== undefined ? [`note (${r.id}): RabbitMQ failed: ${r.rabbit.failed}`] : []),
        ...[...errorNotes(runs?.ours ?? []), ...electionNotes(runs?.ours ?? [])].map((n) => `note (${r.id}): this broker: ${n}`),
        ...errorNotes(runs?.rabbit ?? []).map((n) => `note (${r.id}): RabbitMQ: ${n}`),
      ];
    }),
    '',
  ];
  mkdirSync(options.outDir, { recursive: true });
  const file = join(options.outDir, `compare-${timestampName(startedAt)}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), totalMs: performance.now() - t0, machine: m, git, options, rows: results, runs: raw }, null, 2)}\n`);
  out.push(`total ${formatDuration(performance.now() - t0)}; full results in ${file}`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (results.some((r) => r.ours.failed !== undefined || r.rabbit.failed !== undefined)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-compare failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
