import { runSeed } from '../../scripts/sim/simulator.js';

// Deterministic simulation: every seed is a different schedule of drops, delays,
// duplicates, partitions, crashes, compactions and client operations, with every
// invariant checked after each step. A failure message names the replay command.
const SEEDS = 1500;
const BATCH = 250;

describe('deterministic simulation', () => {
  for (let start = 1; start <= SEEDS; start += BATCH) {
    test(`seeds ${start}..${start + BATCH - 1} (3 and 5 nodes, mixed fault profiles)`, () => {
      const sizes = new Set<number>();
      let acked = 0;
      for (let seed = start; seed < start + BATCH; seed++) {
        const r = runSeed({ seed });
        sizes.add(r.nodes);
        acked += r.acked;
      }
      expect([...sizes].sort()).toEqual([3, 5]);
      expect(acked).toBeGreaterThan(BATCH); // the runs did make progress
    }, 300_000); // ~3 s of CPU on a quiet machine; generous for a shared, loaded one
  }
});
