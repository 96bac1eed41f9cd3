// A throwaway 3-node RabbitMQ cluster on loopback for `make bench-compare`, from Debian's
// rabbitmq-server package. The package's rabbitmq-server command switches to the
// rabbitmq user, so the nodes run from the scripts in /usr/lib/rabbitmq/bin directly,
// each with its own ports, data and logs in a temp dir and one shared HOME (the Erlang
// cookie). Nothing from /etc/rabbitmq is read. Management and every other plugin stay off.
// The cluster is taken down by stop() (graceful, then kill -9) or, if the bench dies,
// by a synchronous kill -9 of every recorded process on exit; epmd too if it started it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendantsOf, listProcesses, readProc, signalIfRunning, stillRunning, type ProcInfo } from './process-tree.js';

/** Where Debian's package keeps the start scripts; RABBITMQ_SCRIPTS_DIR points elsewhere. */
export const DEFAULT_SCRIPTS_DIR = '/usr/lib/rabbitmq/bin';
const EPMD_PORT = 4369;

export const INSTALL_HINT = [
  'make bench-compare needs RabbitMQ from Debian\'s rabbitmq-server package, and it is not installed',
  '(no rabbitmq-server in RABBITMQ_SCRIPTS_DIR, default /usr/lib/rabbitmq/bin). Install it with',
  '',
  '    sudo apt-get update && sudo apt-get install -y rabbitmq-server',
  '',
  '(RabbitMQ 3.10 with Erlang 25 on Debian 12). The package\'s own service is not used: the bench starts',
  'three nodes of its own on 127.0.0.1 and stops them; if the service runs, stop it first',
  '(sudo systemctl stop rabbitmq-server) so that port 5672 is free. make test never needs RabbitMQ.',
].join('\n');

export interface RabbitClusterOptions {
  scriptsDir: string;
  nodes: number;
  /** AMQP port of node 1; node i listens on amqpBase + i - 1. */
  amqpBase: number;
  /** Erlang distribution port of node 1. */
  distBase: number;
  log: (line: string) => void;
}

export interface RabbitNode {
  id: string;
  /** Erlang node name, r1@localhost. */
  name: string;
  amqpPort: number;
  distPort: number;
  dir: string;
  /** The start script's process (a shell), the root of the node's process tree. */
  wrapper?: ChildProcess;
  wrapperInfo?: ProcInfo;
  /** The Erlang VM, whose CPU is the node's. */
  beam?: ProcInfo;
}

/** The rabbitmq-server script to run, or undefined when RabbitMQ is not installed. */
export function findRabbitScripts(env: Record<string, string | undefined>): string | undefined {
  const dir = env.RABBITMQ_SCRIPTS_DIR ?? DEFAULT_SCRIPTS_DIR;
  return existsSync(join(dir, 'rabbitmq-server')) && existsSync(join(dir, 'rabbitmqctl')) ? dir : undefined;
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class RabbitCluster {
  readonly nodes: RabbitNode[];
  private readonly root: string;
  private readonly env: Record<string, string>;
  private epmd?: { child: ChildProcess; info?: ProcInfo };
  /** Every process of the cluster seen so far (refreshed while it runs), for the last-resort kill. */
  private readonly known = new Map<number, ProcInfo>();
  private readonly exitHook = () => this.killAllSync();
  /** rabbitmqctl runs in progress: ended with the cluster. */
  private readonly ctlChildren = new Set<ChildProcess>();
  private stopped = false;

  private constructor(private readonly opts: RabbitClusterOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'mom-rabbit-'));
    const home = join(this.root, 'home');
    mkdirSync(home);
    // The cookie is written before any node starts: three nodes creating it at once could
    // each write their own, and then neither they nor rabbitmqctl could talk to each other.
    writeFileSync(join(home, '.erlang.cookie'), randomBytes(15).toString('hex').toUpperCase(), { mode: 0o400 });
    const plugins = join(this.root, 'enabled_plugins');
    writeFileSync(plugins, '[].\n');
    const config = join(this.root, 'rabbitmq.conf');
    writeFileSync(config, '# bench-compare: defaults (quorum queues fsync their WAL before confirming)\n');
    this.env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: home,
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_EPMD_PORT: String(EPMD_PORT),
      // Not /etc/rabbitmq: the bench's own (empty) settings, no plugins.
      RABBITMQ_CONF_ENV_FILE: join(this.root, 'none-rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: config,
      RABBITMQ_ADVANCED_CONFIG_FILE: join(this.root, 'none-advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      // The distribution listener on loopback only, like everything else.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      // RabbitMQ 3.10 turns Erlang's scheduler busy wait off (+sbwt none); set, this
      // turns it back on (e.g. `medium`, Erlang's own default), to compare with this
      // broker's leader polling at light load (src/node/busy-poll.ts).
      ...(process.env.RABBITMQ_SCHEDULER_BUSY_WAIT_THRESHOLD ? { RABBITMQ_SCHEDULER_BUSY_WAIT_THRESHOLD: process.env.RABBITMQ_SCHEDULER_BUSY_WAIT_THRESHOLD } : {}),
    };
    this.nodes = Array.from({ length: opts.nodes }, (_, i) => ({
      id: `r${i + 1}`,
      name: `r${i + 1}@localhost`,
      amqpPort: opts.amqpBase + i,
      distPort: opts.distBase + i,
      dir: join(this.root, `r${i + 1}`),
    }));
    process.on('exit', this.exitHook);
  }

  /** Starts the nodes, clusters them and waits until all run. Cleans up if any step fails. */
  static async start(opts: RabbitClusterOptions): Promise<RabbitCluster> {
    const cluster = await RabbitCluster.prepare(opts);
    await cluster.boot();
    return cluster;
  }

  /** Checks the ports and lays out the temp dir; boot() starts the nodes. */
  static async prepare(opts: RabbitClusterOptions): Promise<RabbitCluster> {
    const ports = Array.from({ length: opts.nodes }, (_, i) => [opts.amqpBase + i, opts.distBase + i]).flat();
    const taken = [];
    for (const port of ports) if (await portTaken(port)) taken.push(port);
    if (taken.length > 0) {
      throw new Error(`ports ${taken.join(', ')} on 127.0.0.1 are in use: another RabbitMQ (the package's service? sudo systemctl stop rabbitmq-server) or another bench-compare is running`);
    }
    return new RabbitCluster(opts);
  }

  amqpUrl(id: string): string {
    return `amqp://guest:guest@127.0.0.1:${this.node(id).amqpPort}`;
  }

  /** Process ids of the Erlang VMs, keyed by node id (r1..): the servers' CPU. */
  beamPids(): Record<string, number | undefined> {
    return Object.fromEntries(this.nodes.map((n) => [n.id, n.beam !== undefined && stillRunning(n.beam) ? n.beam.pid : undefined]));
  }

  node(id: string): RabbitNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no RabbitMQ node ${id}`);
    return n;
  }

  /** rabbitmqctl against one node; rejects with its output on failure. */
  ctl(node: RabbitNode, args: string[], timeoutMs = 120_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Error(`RabbitMQ cluster stopped: rabbitmqctl ${args[0]} not run`));
      const child = execFile(join(this.opts.scriptsDir, 'rabbitmqctl'), ['-n', node.name, ...args], { env: this.env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        this.ctlChildren.delete(child);
        if (err) reject(new Error(`rabbitmqctl -n ${node.name} ${args.join(' ')}: ${err.message}\n${stderr || stdout}`.trim()));
        else resolve(stdout);
      });
      this.ctlChildren.add(child);
    });
  }

  /** Starts and clusters the nodes; on failure stops whatever it started, then throws. */
  async boot(): Promise<void> {
    try {
      await this.bootSteps();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  private async bootSteps(): Promise<void> {
    await this.ensureEpmd();
    for (const n of this.nodes) this.spawnNode(n);
    this.opts.log(`  RabbitMQ: starting ${this.nodes.map((n) => `${n.name} (:${n.amqpPort})`).join(', ')} in ${this.root}`);
    await Promise.all(this.nodes.map((n) => this.awaitStartup(n)));
    const [first, ...others] = this.nodes;
    for (const n of others) {
      await this.ctl(n, ['stop_app']);
      await this.ctl(n, ['join_cluster', first.name]);
      await this.ctl(n, ['start_app']);
    }
    const status = await this.ctl(first, ['cluster_status', '--formatter', 'json']);
    const running = (JSON.parse(status) as { running_nodes?: string[] }).running_nodes ?? [];
    if (running.length !== this.nodes.length) throw new Error(`RabbitMQ cluster has ${running.length} running nodes, expected ${this.nodes.length}: ${status}`);
    for (const n of this.nodes) {
      n.beam = n.wrapperInfo === undefined ? undefined : descendantsOf(n.wrapperInfo.pid, listProcesses()).find((p) => p.comm === 'beam.smp');
      if (n.beam === undefined) throw new Error(`no beam.smp process under ${n.name}'s start script`);
    }
    this.refreshKnown();
  }

  /** Uses a running epmd, or starts one of our own on loopback (ended by stop()). */
  private async ensureEpmd(): Promise<void> {
    if (await answers(EPMD_PORT)) return;
    const log = openSync(join(this.root, 'epmd.log'), 'a');
    const child = spawn('epmd', ['-address', '127.0.0.1', '-port', String(EPMD_PORT)], { env: this.env, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.epmd = { child };
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start epmd (part of erlang-base, installed with rabbitmq-server): ${err.message}`)));
    });
    if (child.pid !== undefined) this.epmd.info = readProc(child.pid);
    for (let i = 0; i < 100 && !(await answers(EPMD_PORT)); i++) await sleep(50);
  }

  private spawnNode(n: RabbitNode): void {
    mkdirSync(join(n.dir, 'log'), { recursive: true });
    const log = openSync(join(n.dir, 'console.log'), 'a');
    // detached: its own process group, so the terminal's Ctrl-C reaches only the bench,
    // which then stops the nodes in order.
    n.wrapper = spawn(join(this.opts.scriptsDir, 'rabbitmq-server'), [], {
      env: {
        ...this.env,
        RABBITMQ_NODENAME: n.name,
        RABBITMQ_NODE_PORT: String(n.amqpPort),
        RABBITMQ_DIST_PORT: String(n.distPort),
        RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(n.dir, 'log'),
        RABBITMQ_PID_FILE: join(n.dir, 'node.pid'),
      },
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (n.wrapper.pid !== undefined) n.wrapperInfo = readProc(n.wrapper.pid);
  }

  private async awaitStartup(n: RabbitNode): Promise<void> {
    const exited = new Promise<never>((_, reject) => {
      n.wrapper?.once('exit', (code, signal) => reject(new Error(`RabbitMQ node ${n.name} exited during start (${signal ?? code}); its output:\n${this.tail(join(n.dir, 'console.log'))}`)));
    });
    // Only a race partner: a node stopped later must not surface as an unhandled rejection.
    exited.catch(() => undefined);
    // await_startup fails at once while the node has not registered with epmd yet: retry.
    const deadline = performance.now() + 180_000;
    for (;;) {
      try {
        await Promise.race([this.ctl(n, ['await_startup', '--timeout', '120'], 130_000), exited]);
        return;
      } catch (err) {
        if (n.wrapper === undefined || n.wrapper.exitCode !== null || n.wrapper.signalCode !== null || performance.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }

  private tail(file: string, lines = 20): string {
    try {
      return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no output)';
    }
  }

  /** Every live process of the cluster: the start scripts and all below them, and our epmd. */
  private liveProcesses(): ProcInfo[] {
    const all = listProcesses();
    const found: ProcInfo[] = [];
    for (const n of this.nodes) {
      if (n.wrapperInfo === undefined) continue;
      if (stillRunning(n.wrapperInfo)) found.push(n.wrapperInfo);
      found.push(...descendantsOf(n.wrapperInfo.pid, all).filter((p) => p.startTime >= n.wrapperInfo!.startTime));
    }
    if (this.epmd?.info !== undefined && stillRunning(this.epmd.info)) found.push(this.epmd.info);
    return found;
  }

  private refreshKnown(): void {
    for (const p of this.liveProcesses()) this.known.set(p.pid, p);
  }

  /** Graceful stop (SIGTERM to each start script), kill -9 after `graceMs`, then epmd, then the temp dir. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const child of this.ctlChildren) child.kill('SIGKILL');
    this.refreshKnown();
    for (const n of this.nodes) if (n.wrapperInfo !== undefined) signalIfRunning(n.wrapperInfo, 'SIGTERM');
    const nodeProcs = [...this.known.values()].filter((p) => p.pid !== this.epmd?.info?.pid);
    const deadline = performance.now() + graceMs;
    while (nodeProcs.some(stillRunning) && performance.now() < deadline) await sleep(100);
    for (const p of nodeProcs) signalIfRunning(p, 'SIGKILL');
    if (this.epmd?.info !== undefined) {
      signalIfRunning(this.epmd.info, 'SIGTERM');
      const until = performance.now() + 3000;
      while (stillRunning(this.epmd.info) && performance.now() < until) await sleep(50);
      signalIfRunning(this.epmd.info, 'SIGKILL');
    }
    await sleep(100);
    const left = [...this.known.values()].filter(stillRunning);
    process.removeListener('exit', this.exitHook);
    rmSync(this.root, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`RabbitMQ processes still running after kill -9: ${left.map((p) => `${p.pid} ${p.comm}`).join(', ')}`);
  }

  /** Last resort when the process exits without stop(): kill -9 everything recorded, synchronously. */
  killAllSync(): void {
    if (this.stopped) return;
    for (const child of this.ctlChildren) child.kill('SIGKILL');
    try {
      this.refreshKnown();
    } catch {
      // /proc unreadable: the recorded processes are still killed below.
    }
    for (const p of this.known.values()) signalIfRunning(p, 'SIGKILL');
    for (const n of this.nodes) if (n.wrapper?.pid !== undefined && n.wrapperInfo === undefined) {
      try { process.kill(n.wrapper.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
