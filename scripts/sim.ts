// Deterministic Raft simulation over many seeds: `make sim SEEDS=100000 [START=s] [NODES_SIM=3|5]`.
// A failure prints its seed and the exact command that replays it.
import { DEFAULT_FAULT_TICKS, replayCommand, runSeed, SimulationFailure } from './sim/simulator.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seeds = Number(arg('seeds') ?? 1000);
const start = Number(arg('start') ?? 1);
const nodesArg = arg('nodes');
const nodes = nodesArg === undefined ? undefined : (Number(nodesArg) as 3 | 5);
if (nodes !== undefined && nodes !== 3 && nodes !== 5) {
  console.error('--nodes must be 3 or 5');
  process.exit(2);
}
const faultTicks = arg('ticks') === undefined ? undefined : Number(arg('ticks'));

const began = Date.now();
let lastLine = began;
let acked = 0;
let reads = 0;
let crashes = 0;
let snapshots = 0;
let appliedWhileWriting = 0;
let maxToLeader = 0;
let maxToConverge = 0;
let worstSeed = start;
for (let i = 0; i < seeds; i++) {
  const seed = start + i;
  try {
    const r = runSeed({ seed, nodes, faultTicks });
    acked += r.acked;
    reads += r.reads;
    crashes += r.crashes;
    snapshots += r.snapshotsInstalled;
    appliedWhileWriting += r.appliedWhileWriting;
    if (r.ticksToLeader > maxToLeader) worstSeed = seed;
    maxToLeader = Math.max(maxToLeader, r.ticksToLeader);
    maxToConverge = Math.max(maxToConverge, r.ticksToConverge);
    if (seeds === 1) console.log(JSON.stringify(r));
  } catch (err) {
    if (err instanceof SimulationFailure) {
      console.error(err.message);
      process.exit(1);
    }
    console.error(`seed ${seed} threw: ${(err as Error).stack}\nreplay: ${replayCommand(seed, nodes, faultTicks ?? DEFAULT_FAULT_TICKS)}`);
    process.exit(1);
  }
  const now = Date.now();
  if (now - lastLine >= 2000 || i === seeds - 1) {
    lastLine = now;
    const secs = (now - began) / 1000;
    console.log(
      `seeds ${i + 1}/${seeds} (${start}..${seed}) ok in ${secs.toFixed(1)}s, ${((i + 1) / secs).toFixed(0)} seeds/s; ` +
        `acked ${acked}, reads ${reads}, crashes ${crashes}, snapshots installed ${snapshots}, applied by a leader while writing ${appliedWhileWriting}; ` +
        `after healing: leader within ${maxToLeader} ticks (worst: seed ${worstSeed}), converged within ${maxToConverge}`,
    );
  }
}
