// Short seeded chaos runs against real node processes (dist/main.js): every fault kind at
// least once under live traffic, over REST and over the stream (scripts/chaos/stream-traffic.ts);
// the same verdict for both: nothing acknowledged lost, no true duplicate, replicas converge.
// Every phase of a run has a deadline (scripts/chaos/phase-deadline.ts): a stuck run fails
// with a state dump well before jest's timeout, and the clusters are owned here, so even a
// run jest gave up on leaves no node process behind.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ClusterControl } from '../../scripts/chaos/cluster-control.js';
import { startLocalChaosCluster } from '../../scripts/chaos/local-cluster-adapter.js';
import { PhaseTimeoutError } from '../../scripts/chaos/phase-deadline.js';
import { runChaos, type StartClusterOptions } from '../../scripts/chaos/run.js';
import { FAULT_KINDS } from '../../scripts/chaos/schedule.js';
import { requireFreshBuild } from '../support/built-dist.js';

requireFreshBuild();

const TEST_TIMEOUT_MS = 6 * 60_000;
/** The run must have failed or finished by then, leaving a minute for teardown. */
const RUN_DEADLINE_MS = TEST_TIMEOUT_MS - 60_000;

/** Every cluster the tests started; teardown kills what a run did not (jest's timeout does
 *  not run the finally blocks of a run that is still pending). */
class ClusterOwner {
  readonly clusters: ClusterControl[] = [];
  readonly start = async (opts: StartClusterOptions): Promise<ClusterControl> => {
    const cluster = await startLocalChaosCluster({ ...opts });
    this.clusters.push(cluster);
    return cluster;
  };
  async shutdownAll(): Promise<void> {
    await Promise.all(this.clusters.splice(0).map((c) => c.shutdown({ keepData: false })));
  }
}

/** Whether anything still listens on the node's HTTP port. */
function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(2_000, () => { socket.destroy(); resolve(false); });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

let outDir = '';
const owner = new ClusterOwner();
beforeAll(async () => { outDir = await mkdtemp(join(tmpdir(), 'mom-chaos-test-')); });
afterEach(async () => { await owner.shutdownAll(); });
afterAll(async () => { await rm(outDir, { recursive: true, force: true }); });

describe.each([
  { name: '60 s seeded run on 3 nodes', seed: 11, durationMs: 60_000, transport: undefined },
  { name: '30 s seeded run on 3 nodes, stream workload', seed: 5, durationMs: 30_000, transport: 'stream' as const },
])('chaos: $name', ({ seed, durationMs, transport }) => {
  test('every fault kind, no acknowledged message lost, no true duplicate, replicas converge', async () => {
    const report = await runChaos({
      nodes: 3, seed, durationMs, outDir, ...(transport ? { transport } : {}),
      startCluster: owner.start, keepDataOnFailure: false, deadline: Date.now() + RUN_DEADLINE_MS,
    });
    expect(report.violations).toEqual([]);
    expect(report.missingFaultKinds).toEqual([]);
    expect(Object.keys(report.faultCounts).sort()).toEqual([...FAULT_KINDS].sort());
    expect(report.check.totals).toMatchObject({ lost: 0, unexpected: 0, trueDuplicates: 0, failedButDelivered: 0, redeliveredAfterAck: 0 });
    expect(report.check.totals.acknowledged).toBeGreaterThan(100);
    expect(report.convergence.converged).toBe(true);
    expect(report.valid).toBe(true);
  }, TEST_TIMEOUT_MS);
});

describe('chaos: a run that overruns a phase', () => {
  test('fails with a dump of the nodes, faults, stream clients and node logs, and stops its nodes', async () => {
    // The faults phase cannot end before the run's 20 s of traffic: 8 s is sure to pass.
    const run = runChaos({
      nodes: 3, seed: 5, durationMs: 20_000, outDir, transport: 'stream',
      startCluster: owner.start, keepDataOnFailure: false, phaseBudgetsMs: { faults: 8_000 },
    });
    const err = await run.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseTimeoutError);
    const { phase, dump = '' } = err as PhaseTimeoutError;
    expect(phase).toBe('faults');
    expect(dump).toMatch(/phase 'faults' ran past its 8\.0 s deadline/);
    expect(dump).toMatch(/^n1: (\w+ term \d+ leader (n\d|null) commit \d+ applied \d+|no answer)/m);
    // A fault holds at most one node: the others answer.
    expect(dump).toMatch(/^n\d: \w+ term \d+ leader (n\d|null) commit \d+ applied \d+/m);
    expect(dump).toMatch(/--- faults: \d+ of \d+ planned started ---/);
    expect(dump).toMatch(/^stream-producer-0: node n\d, socket \w+.*pending \d+ \(unconfirmed \d+\/16/m);
    expect(dump).toMatch(/^ {2}consumer \S+ on (queue orders-\d|events\/\w+): .*credit used \d+/m);
    expect(dump).toMatch(/--- operations in flight \(invoked, not completed\): \d+ ---/);
    expect(dump).toMatch(/--- n3 log, last 25 lines/);
    expect(dump).toContain('"msg"');
    // The run stopped its own nodes before failing.
    const [cluster] = owner.clusters;
    expect(cluster).toBeDefined();
    for (const id of cluster.nodeIds) expect(await answers(cluster.httpUrl(id))).toBe(false);
  }, 120_000);

  test('teardown stops the nodes of a run that is still going', async () => {
    const run = runChaos({
      nodes: 3, seed: 7, durationMs: 60_000, outDir,
      startCluster: owner.start, keepDataOnFailure: false, deadline: Date.now() + 40_000,
    });
    const failed = run.then(() => undefined, (e: unknown) => e);
    while (owner.clusters.length === 0) await new Promise((r) => setTimeout(r, 50));
    const [cluster] = owner.clusters;
    const urls = cluster.nodeIds.map((id) => cluster.httpUrl(id));
    while (!(await answers(urls[0]))) await new Promise((r) => setTimeout(r, 100));
    await owner.shutdownAll(); // what afterEach does when jest gave up on a pending run
    for (const url of urls) expect(await answers(url)).toBe(false);
    // Without its nodes the run cannot go on: it fails on a phase deadline.
    expect(await failed).toBeInstanceOf(Error);
  }, 120_000);
});
