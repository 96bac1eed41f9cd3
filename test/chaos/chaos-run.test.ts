// Short seeded chaos runs against real node processes (dist/main.js): every fault kind at
// least once under live traffic, over REST and over the stream (scripts/chaos/stream-traffic.ts);
// the same verdict for both: nothing acknowledged lost, no true duplicate, replicas converge.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startLocalChaosCluster } from '../../scripts/chaos/local-cluster-adapter.js';
import { runChaos } from '../../scripts/chaos/run.js';
import { FAULT_KINDS } from '../../scripts/chaos/schedule.js';
import { requireFreshBuild } from '../support/built-dist.js';

requireFreshBuild();

describe.each([
  { name: '60 s seeded run on 3 nodes', seed: 11, durationMs: 60_000, transport: undefined },
  { name: '30 s seeded run on 3 nodes, stream workload', seed: 5, durationMs: 30_000, transport: 'stream' as const },
])('chaos: $name', ({ seed, durationMs, transport }) => {
  let outDir = '';
  beforeAll(async () => { outDir = await mkdtemp(join(tmpdir(), 'mom-chaos-test-')); });
  afterAll(async () => { await rm(outDir, { recursive: true, force: true }); });

  test('every fault kind, no acknowledged message lost, no true duplicate, replicas converge', async () => {
    const report = await runChaos({
      nodes: 3, seed, durationMs, outDir, ...(transport ? { transport } : {}),
      startCluster: (opts) => startLocalChaosCluster({ ...opts }),
      keepDataOnFailure: false,
    });
    expect(report.violations).toEqual([]);
    expect(report.missingFaultKinds).toEqual([]);
    expect(Object.keys(report.faultCounts).sort()).toEqual([...FAULT_KINDS].sort());
    expect(report.check.totals).toMatchObject({ lost: 0, unexpected: 0, trueDuplicates: 0, failedButDelivered: 0, redeliveredAfterAck: 0 });
    expect(report.check.totals.acknowledged).toBeGreaterThan(100);
    expect(report.convergence.converged).toBe(true);
    expect(report.valid).toBe(true);
  }, 6 * 60_000);
});
