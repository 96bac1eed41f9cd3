// Starts N broker nodes as separate OS processes on 127.0.0.1, and lets tests,
// chaos and benches kill, pause, resume and restart them. Each node gets its own
// data dir under the cluster's root; the cluster id, token and JWT secret are
// generated once per root and kept in files there, so a restart (or the same
// command line by hand) joins the same cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ClusterStatus } from '../../src/client/types.js';
import { freePort } from './free-port.js';

export { freePort };

export interface LocalClusterOptions {
  /** Number of nodes (ids n1..nN). */
  nodes: number;
  /** The command that starts one node; node flags are appended. Default: node dist/main.js. */
  entry?: string[];
  /** Working directory of the node processes (default: process.cwd()). */
  cwd?: string;
  /** Where data dirs live (node-1, node-2, ...). Default: a fresh temp dir, removed by destroy(). */
  dataRoot?: string;
  /** Fixed ports: node i listens on httpBase+i-1 / grpcBase+i-1. Default: free ports. */
  fixedPorts?: { httpBase: number; grpcBase: number };
  /** Extra flags / environment per node. */
  extraArgs?: (id: string) => string[];
  env?: (id: string) => Record<string, string>;
  /** The gRPC address node `fromId` dials to reach `toId` (e.g. a TCP proxy for chaos). */
  peerAddress?: (fromId: string, toId: string, realAddress: string) => string;
  /** Where each node's stdout/stderr goes: a log file under dataRoot (default), or inherited. */
  output?: 'file' | 'inherit' | 'ignore';
  /** Election timing for faster tests; passed as flags when set. */
  tickMs?: number;
  electionTicks?: number;
}

export interface LocalNode {
  id: string;
  index: number;
  httpUrl: string;
  httpListen: string;
  grpcAddress: string;
  dataDir: string;
  logFile: string;
  /** The full command line (argv) that starts this node. */
  argv: string[];
  process?: ChildProcess;
  paused: boolean;
  /** Set when the process exited: its code or signal. */
  exited?: { code: number | null; signal: NodeJS.Signals | null };
}

export type ClusterStatusBody = ClusterStatus;

export interface ClusterSecrets {
  clusterId: string;
  clusterTokenFile: string;
  jwtSecretFile: string;
}

/** Events: 'exit' (node: LocalNode) when a node process ends, expectedly or not. */
export class LocalCluster extends EventEmitter {
  readonly nodes: LocalNode[];
  private readonly ownsRoot: boolean;
  private exitHook = () => this.killAllSync();

  private constructor(
    readonly opts: LocalClusterOptions,
    readonly dataRoot: string,
    ownsRoot: boolean,
    readonly secrets: ClusterSecrets,
    nodes: LocalNode[],
  ) {
    super();
    this.ownsRoot = ownsRoot;
    this.nodes = nodes;
    process.on('exit', this.exitHook);
  }

  /** Prepares the nodes (ports, dirs, secrets, command lines) and starts them all. */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = await LocalCluster.prepare(opts);
    for (const n of cluster.nodes) cluster.spawnNode(n);
    return cluster;
  }

  /** Like start() without starting any process. */
  static async prepare(opts: LocalClusterOptions): Promise<LocalCluster> {
    const ownsRoot = opts.dataRoot === undefined;
    const dataRoot = resolve(opts.dataRoot ?? mkdtempSync(join(tmpdir(), 'mom-cluster-')));
    mkdirSync(dataRoot, { recursive: true });
    const secrets = loadOrCreateSecrets(dataRoot);
    const ports: { http: number; grpc: number }[] = [];
    for (let i = 1; i <= opts.nodes; i++) {
      ports.push(
        opts.fixedPorts
          ? { http: opts.fixedPorts.httpBase + i - 1, grpc: opts.fixedPorts.grpcBase + i - 1 }
          : { http: await freePort(), grpc: await freePort() },
      );
    }
    const ids = ports.map((_, i) => `n${i + 1}`);
    const real = ids.map((id, i) => ({ id, grpcAddress: `127.0.0.1:${ports[i].grpc}`, httpUrl: `http://127.0.0.1:${ports[i].http}` }));
    const entry = opts.entry ?? ['node', 'dist/main.js'];
    const nodes: LocalNode[] = real.map((self, i) => {
      const peers = real.map((p) =>
        p.id === self.id || !opts.peerAddress ? p : { ...p, grpcAddress: opts.peerAddress(self.id, p.id, p.grpcAddress) },
      );
      const dataDir = join(dataRoot, `node-${i + 1}`);
      const args = [
        '--node-id', self.id,
        '--cluster-id', secrets.clusterId,
        '--cluster-token-file', secrets.clusterTokenFile,
        '--jwt-secret-file', secrets.jwtSecretFile,
        '--http-listen', `127.0.0.1:${ports[i].http}`,
        '--grpc-listen', self.grpcAddress,
        '--advertised-http-url', self.httpUrl,
        '--peers', peers.map((p) => `${p.id}@${p.grpcAddress}@${p.httpUrl}`).join(','),
        '--data-dir', dataDir,
        ...(opts.tickMs ? ['--tick-ms', String(opts.tickMs)] : []),
        ...(opts.electionTicks ? ['--election-ticks', String(opts.electionTicks)] : []),
        ...(opts.extraArgs?.(self.id) ?? []),
      ];
      return {
        id: self.id,
        index: i + 1,
        httpUrl: self.httpUrl,
        httpListen: `127.0.0.1:${ports[i].http}`,
        grpcAddress: self.grpcAddress,
        dataDir,
        logFile: join(dataRoot, `node-${i + 1}.log`),
        argv: [...entry, ...args],
        paused: false,
      };
    });
    return new LocalCluster(opts, dataRoot, ownsRoot, secrets, nodes);
  }

  node(id: string): LocalNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id} in this cluster`);
    return n;
  }

  isRunning(id: string): boolean {
    const n = this.node(id);
    return n.process !== undefined && n.exited === undefined;
  }

  /** Starts the node's process (again) with the same command line. */
  spawnNode(n: LocalNode): void {
    if (n.process && !n.exited) throw new Error(`node ${n.id} is already running`);
    const output = this.opts.output ?? 'file';
    let fd: number | undefined;
    if (output === 'file') fd = openSync(n.logFile, 'a');
    const stdio = output === 'file' ? (['ignore', fd, fd] as const) : output === 'inherit' ? 'inherit' : 'ignore';
    const [cmd, ...args] = n.argv;
    const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
      cwd: this.opts.cwd ?? process.cwd(),
      env: { ...process.env, ...(this.opts.env?.(n.id) ?? {}) },
      stdio: stdio as never,
    });
    if (fd !== undefined) closeSync(fd);
    n.process = child;
    n.exited = undefined;
    n.paused = false;
    child.on('exit', (code, signal) => {
      if (n.process !== child) return;
      n.exited = { code, signal };
      this.emit('exit', n);
    });
  }

  restart(id: string): void {
    this.spawnNode(this.node(id));
  }

  /** Sends a signal (default SIGKILL: a crash) and waits until the process is gone. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(id);
    const child = n.process;
    if (!child || n.exited) return;
    const gone = new Promise<void>((res) => child.once('exit', () => res()));
    if (n.paused && signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
    await gone;
    n.paused = false;
  }

  /** Graceful stop (SIGTERM), escalating to SIGKILL after `graceMs`. */
  async stop(id: string, graceMs = 5000): Promise<void> {
    const n = this.node(id);
    const child = n.process;
    if (!child || n.exited) return;
    const gone = new Promise<void>((res) => child.once('exit', () => res()));
    if (n.paused) child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  pause(id: string): void {
    const n = this.node(id);
    if (n.process && !n.exited) {
      n.process.kill('SIGSTOP');
      n.paused = true;
    }
  }

  resume(id: string): void {
    const n = this.node(id);
    if (n.process && !n.exited) {
      n.process.kill('SIGCONT');
      n.paused = false;
    }
  }

  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stop(n.id, graceMs)));
  }

  /** Kills every node and removes the data root if this cluster created it. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id, 'SIGKILL')));
    process.off('exit', this.exitHook);
    if (this.ownsRoot) rmSync(this.dataRoot, { recursive: true, force: true });
  }

  /** Last resort when the parent exits without destroy(): no orphaned nodes. */
  private killAllSync(): void {
    for (const n of this.nodes) if (n.process && !n.exited) n.process.kill('SIGKILL');
  }

  // ---- observing over HTTP ----

  async getJson<T>(id: string, path: string, timeoutMs = 1000): Promise<{ status: number; body: T } | undefined> {
    const n = this.node(id);
    if (!this.isRunning(id) || n.paused) return undefined;
    try {
      const res = await fetch(n.httpUrl + path, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: (await res.json()) as T };
    } catch {
      return undefined;
    }
  }

  async status(id: string): Promise<ClusterStatusBody | undefined> {
    return (await this.getJson<ClusterStatusBody>(id, '/v1/cluster'))?.body;
  }

  /**
   * Waits until one node is leader and every running, unpaused node among `among`
   * names it; returns its id.
   */
  async waitForLeader(opts: { timeoutMs?: number; among?: string[]; notId?: string } = {}): Promise<string> {
    const among = opts.among ?? this.nodes.map((n) => n.id);
    let last = '';
    return waitFor(
      async () => {
        const live = among.filter((id) => this.isRunning(id) && !this.node(id).paused);
        const statuses = await Promise.all(live.map((id) => this.status(id)));
        const leaders = statuses.filter((s) => s?.role === 'leader');
        last = JSON.stringify(statuses.map((s) => s && { id: s.nodeId, role: s.role, term: s.term, leader: s.leaderId }));
        if (leaders.length !== 1) return undefined;
        const leaderId = leaders[0]!.nodeId;
        if (leaderId === opts.notId) return undefined;
        const term = leaders[0]!.term;
        return statuses.every((s) => s && s.leaderId === leaderId && s.term === term) ? leaderId : undefined;
      },
      opts.timeoutMs ?? 20_000,
      () => `no agreed leader; last seen ${last}`,
    );
  }

  /** Waits until GET /ready answers 200 on each of `ids` (default: all running). */
  async waitReady(ids?: string[], timeoutMs = 20_000): Promise<void> {
    const want = ids ?? this.nodes.filter((n) => this.isRunning(n.id)).map((n) => n.id);
    await waitFor(
      async () => {
        const results = await Promise.all(want.map((id) => this.getJson(id, '/ready')));
        return results.every((r) => r?.status === 200) ? true : undefined;
      },
      timeoutMs,
      () => `nodes ${want.join(', ')} not all ready`,
    );
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, describe: () => string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function loadOrCreateSecrets(root: string): ClusterSecrets {
  const meta = join(root, 'cluster.json');
  const clusterTokenFile = join(root, 'cluster-token');
  const jwtSecretFile = join(root, 'jwt-secret');
  let clusterId: string;
  if (existsSync(meta) && existsSync(clusterTokenFile) && existsSync(jwtSecretFile)) {
    clusterId = (JSON.parse(readFileSync(meta, 'utf8')) as { clusterId: string }).clusterId;
  } else {
    clusterId = `local-${randomBytes(4).toString('hex')}`;
    writeFileSync(clusterTokenFile, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
    writeFileSync(jwtSecretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    writeFileSync(meta, JSON.stringify({ clusterId, createdAt: new Date().toISOString() }, null, 2) + '\n');
  }
  return { clusterId, clusterTokenFile, jwtSecretFile };
}
