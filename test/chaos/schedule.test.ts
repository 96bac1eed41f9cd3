import { createPrng } from '../../scripts/chaos/prng.js';
import {
  FAULT_KINDS, faultBudget, maxConcurrentFaulty, planFaults, plannedEnd,
} from '../../scripts/chaos/schedule.js';

const SEEDS = Array.from({ length: 100 }, (_, i) => i + 1);

describe('seeded prng', () => {
  test('the same seed gives the same stream; different seeds differ', () => {
    const a = createPrng(7); const b = createPrng(7); const c = createPrng(8);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) { expect(x).toBeGreaterThanOrEqual(0); expect(x).toBeLessThan(1); }
  });

  test('int stays within bounds and reaches both ends', () => {
    const p = createPrng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(p.int(2, 5));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });
});

describe('fault plan', () => {
  test('is deterministic per seed and differs between seeds', () => {
    const opts = { nodeCount: 3, durationMs: 60_000 };
    expect(planFaults({ ...opts, seed: 42 })).toEqual(planFaults({ ...opts, seed: 42 }));
    expect(planFaults({ ...opts, seed: 42 })).not.toEqual(planFaults({ ...opts, seed: 43 }));
  });

  test.each([3, 5])('never more than a minority of %i nodes faulty at once', (nodeCount) => {
    for (const seed of SEEDS) {
      for (const durationMs of seed <= 30 ? [60_000, 300_000] : [60_000]) {
        const plan = planFaults({ seed, nodeCount, durationMs });
        expect(maxConcurrentFaulty(plan, nodeCount)).toBeLessThanOrEqual(faultBudget(nodeCount));
        // A rolling restart never overlaps anything.
        for (const r of plan.filter((e) => e.exclusive)) {
          for (const o of plan) {
            if (o === r) continue;
            const overlap = o.startMs < plannedEnd(r, nodeCount) && r.startMs < plannedEnd(o, nodeCount);
            expect(overlap).toBe(false);
          }
        }
      }
    }
  });

  test('five nodes sometimes run two faults at once; three nodes never do', () => {
    const five = SEEDS.some((seed) => maxConcurrentFaulty(planFaults({ seed, nodeCount: 5, durationMs: 300_000 }), 5) === 2);
    expect(five).toBe(true);
    const three = SEEDS.every((seed) => maxConcurrentFaulty(planFaults({ seed, nodeCount: 3, durationMs: 300_000 }), 3) === 1);
    expect(three).toBe(true);
  });

  test.each([3, 5])('a short run on %i nodes has every fault kind at least once', (nodeCount) => {
    for (const seed of SEEDS) {
      const plan = planFaults({ seed, nodeCount, durationMs: 60_000 });
      expect(new Set(plan.map((e) => e.kind))).toEqual(new Set(FAULT_KINDS));
      // Every kind of the first cycle fits within the run.
      expect(Math.max(...plan.map((e) => plannedEnd(e, nodeCount)))).toBeLessThanOrEqual(60_000);
    }
  });

  test('a pause outlasts the election timeout; holds and picks are sane', () => {
    for (const seed of SEEDS.slice(0, 30)) {
      for (const e of planFaults({ seed, nodeCount: 3, durationMs: 300_000, electionTimeoutMs: 600 })) {
        if (e.kind === 'pause-leader') expect(e.holdMs).toBeGreaterThan(600);
        expect(e.holdMs).toBeGreaterThan(0);
        expect(e.pick).toBeGreaterThanOrEqual(0);
        expect(e.pick).toBeLessThan(1);
        if (e.kind === 'one-way-loss') expect(['in', 'out']).toContain(e.direction);
        if (e.kind === 'slow-node') expect(e.delayMs).toBeGreaterThan(0);
      }
    }
  });

  test('a long run keeps injecting faults to its end', () => {
    const plan = planFaults({ seed: 3, nodeCount: 3, durationMs: 300_000 });
    expect(plan.length).toBeGreaterThan(30);
    expect(Math.max(...plan.map((e) => e.startMs))).toBeGreaterThan(250_000);
    expect(Math.max(...plan.map((e) => plannedEnd(e, 3)))).toBeLessThanOrEqual(300_000);
  });
});
