// `make bench` with --profile (or PROFILE=1): every node runs with --cpu-prof, the
// pipelined-send scenario (PROFILE_SCENARIO=1: the sequential one, 3: batches of 100,
// 4: receive+ack, 11/12: stream send/consume) runs once, the cluster stops with SIGTERM
// so V8 writes the profiles, and the leader's profile is summarized: self time by
// function and by area, and inclusive time of the heaviest functions; then a follower's
// self time. Output in bench-results/profile-<ts>/: every node's profile and its folded
// stacks (for a flame graph).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BrokerLink } from './client.js';
import type { BenchCluster } from './cluster.js';
import type { BenchContext } from './context.js';
import { launchBenchCluster } from './local.js';
import type { BenchOptions } from './options.js';
import { foldedStacks, summarizeProfile, type CpuProfile, type ProfileWindow, type SelfTime } from './profile.js';
import type { Progress } from './progress.js';
import { timestampName } from './report.js';
import { runScenario } from './scenario.js';
import { nodeIdOf } from './scenarios/cluster-wait.js';
import { receiveAck } from './scenarios/receive-ack.js';
import { batchedSend100, pipelinedSend, sequentialSend } from './scenarios/send-load.js';
import { streamConsume, streamSend } from './scenarios/stream.js';
import { prepareCluster, warmUp } from './setup.js';
import { formatTable } from './table.js';

function table(title: string, rows: SelfTime[]): string {
  return `${title}\n${formatTable(['ms', 'share', 'where'], rows.map((r) => [r.ms.toFixed(0), `${(r.share * 100).toFixed(1)}%`, r.name]), ['right', 'right', 'left'])}`;
}

export async function runProfile(options: BenchOptions, progress: Progress, clusters: BenchCluster[]): Promise<void> {
  const profDir = mkdtempSync(join(tmpdir(), 'mom-bench-prof-'));
  const cluster = await launchBenchCluster({ nodes: 3, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  clusters.push(cluster);
  const link = new BrokerLink(cluster.nodeIds.map((id) => cluster.httpUrl(id)));
  const ctx: BenchContext = { options: { ...options, runs: 1 }, cluster, link, progress };
  let leaderPid: number | undefined;
  let leaderId: string;
  const chosen = { '1': sequentialSend, '3': batchedSend100, '4': receiveAck, '11': streamSend, '12': streamConsume }[process.env.PROFILE_SCENARIO ?? ''] ?? pipelinedSend;
  // Only the samples taken while the scenario ran: V8 stamps them with the same monotonic
  // clock as process.hrtime here, so start-up and shutdown stay out of the figures.
  const window: ProfileWindow = { fromUs: 0, toUs: Number.MAX_SAFE_INTEGER };
  try {
    await prepareCluster(ctx);
    await warmUp(ctx);
    leaderId = nodeIdOf(ctx, await link.findLeader());
    leaderPid = cluster.pid(leaderId);
    window.fromUs = Number(process.hrtime.bigint() / 1000n);
    const result = await runScenario(ctx, chosen);
    window.toUs = Number(process.hrtime.bigint() / 1000n);
    if (result.failed !== undefined) throw new Error(`scenario ${chosen.id} failed: ${result.failed}`);
    // The measured part alone (a drain without its fill, for instance).
    if (ctx.measuredWindow !== undefined) Object.assign(window, ctx.measuredWindow);
  } finally {
    await link.close();
    await cluster.shutdown();
    clusters.splice(clusters.indexOf(cluster), 1);
  }
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  const leaderFile = files.find((f) => leaderPid !== undefined && f.includes(`.${leaderPid}.`));
  if (leaderFile === undefined) throw new Error(`no profile of the leader (pid ${leaderPid}) in ${profDir}: ${files.join(', ') || 'none'} (does the node exit cleanly on SIGTERM?)`);
  const read = (f: string) => JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile;
  const profile = read(leaderFile);
  const summary = summarizeProfile(profile, 40, window);
  const outDir = resolve(options.outDir, `profile-${timestampName(new Date())}`);
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(profDir, leaderFile), join(outDir, `leader-${leaderId}.cpuprofile`));
  writeFileSync(join(outDir, `leader-${leaderId}.folded`), foldedStacks(profile, window));
  const followerFiles = files.filter((f) => f !== leaderFile);
  for (const f of followerFiles) {
    copyFileSync(join(profDir, f), join(outDir, `follower-${f}`));
    writeFileSync(join(outDir, `follower-${f.replace(/\.cpuprofile$/, '')}.folded`), foldedStacks(read(f), window));
  }
  const follower = followerFiles.length > 0 ? summarizeProfile(read(followerFiles[0]), 40, window) : undefined;
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify({ leaderId, window, ...summary, follower }, null, 2)}\n`);
  rmSync(profDir, { recursive: true, force: true });
  process.stdout.write([
    '',
    `CPU profile of the leader (${leaderId}) while scenario ${chosen.id} ran: ${summary.totalMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle`,
    '',
    table('self time by area', summary.areas.slice(0, 15)),
    '',
    table('self time by function', summary.functions.slice(0, 30)),
    '',
    table('inclusive time (function anywhere on the stack)', summary.inclusive.slice(0, 30)),
    '',
    ...(follower === undefined ? [] : [
      `CPU profile of a follower over the same span: ${follower.totalMs.toFixed(0)} ms busy, ${follower.idleMs.toFixed(0)} ms idle`,
      '',
      table('follower: self time by area', follower.areas.slice(0, 15)),
      '',
      table('follower: self time by function', follower.functions.slice(0, 30)),
      '',
    ]),
    'flame graphs: the .folded files (flamegraph.pl, inferno or speedscope draw them)',
    `profile and summary in ${outDir} (open the .cpuprofile in Chrome DevTools > Performance)`,
    '',
  ].join('\n'));
}
