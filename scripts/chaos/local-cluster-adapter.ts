// ClusterControl over the shared local launcher (scripts/lib/local-cluster.ts): node
// processes from dist/main.js on free loopback ports, in a temp data root that is kept
// when the run failed (node logs are there) and removed otherwise.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LocalCluster, type LocalNode } from '../lib/local-cluster.js';
import type { ClusterControl, UnexpectedExit } from './cluster-control.js';
import type { StartClusterOptions } from './run.js';

export interface LocalChaosClusterOptions extends StartClusterOptions {
  /** Keep the data root (data dirs and node logs) even after a passing run. */
  keepData?: boolean;
  /** The node program (default dist/main.js); a pinned copy keeps restarts on one build. */
  mainJs?: string;
  /** How followers handle writes (default: the nodes' default, redirect). */
  leaderMode?: 'redirect' | 'forward';
  log?: (line: string) => void;
}

export async function startLocalChaosCluster(opts: LocalChaosClusterOptions): Promise<ClusterControl> {
  const dataRoot = await mkdtemp(join(tmpdir(), 'mom-chaos-'));
  const started = Date.now();
  const cluster = await LocalCluster.start({
    nodes: opts.nodes, peerAddress: opts.peerAddress, dataRoot, output: 'file',
    entry: ['node', opts.mainJs ?? 'dist/main.js'],
    ...(opts.leaderMode !== undefined && { extraArgs: () => ['--leader-mode', opts.leaderMode!] }),
  });
  // Exits we did not cause (a crash, an assertion, a failed fsync) are findings.
  const expected = new Set<string>();
  const unexpected: UnexpectedExit[] = [];
  cluster.on('exit', (n: LocalNode) => {
    if (expected.delete(n.id)) return;
    const exit = { id: n.id, code: n.exited?.code ?? null, signal: n.exited?.signal ?? null, atMs: Date.now() - started, logFile: n.logFile };
    unexpected.push(exit);
    opts.log?.(`node ${n.id} exited on its own (code ${exit.code}, signal ${exit.signal}); log: ${n.logFile}`);
  });
  // After shutdown nothing starts a node again: a run still going (one that missed its
  // deadline) must not bring back what its owner stopped.
  let shutDown = false;
  const restart = (id: string): void => {
    if (shutDown) throw new Error(`cluster is shut down: ${id} not started`);
    cluster.restart(id);
  };
  const expectExit = async (id: string, act: () => Promise<void>): Promise<void> => {
    if (!cluster.isRunning(id)) return;
    expected.add(id);
    await act();
  };
  return {
    nodeIds: cluster.nodes.map((n) => n.id),
    dataRoot,
    httpUrl: (id) => cluster.node(id).httpUrl,
    logFile: (id) => cluster.node(id).logFile,
    kill: (id) => expectExit(id, () => cluster.kill(id, 'SIGKILL')),
    start: async (id) => { if (!cluster.isRunning(id)) restart(id); },
    gracefulRestart: async (id) => {
      const began = Date.now();
      await expectExit(id, () => cluster.stop(id));
      const stop = { ms: Date.now() - began, forced: cluster.node(id).exited?.signal === 'SIGKILL' };
      restart(id);
      return stop;
    },
    pause: async (id) => cluster.pause(id),
    resume: async (id) => cluster.resume(id),
    unexpectedExits: () => [...unexpected],
    shutdown: async ({ keepData }) => {
      shutDown = true;
      for (const n of cluster.nodes) expected.add(n.id);
      await cluster.destroy(); // kills every node; the root is ours, so it stays
      if (keepData || opts.keepData) opts.log?.(`data dirs and node logs kept in ${dataRoot}`);
      else await rm(dataRoot, { recursive: true, force: true });
    },
  };
}
