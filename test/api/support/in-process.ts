// An in-process three-server setup for fast API tests: one real Broker applied directly
// by a single-replica "node" (no Raft: every proposal commits at once), served by a
// leader server, plus two follower servers whose node view points at the leader. It
// exercises the whole HTTP layer, redirect and forward included; the process-level
// cluster suite runs the same conformance tests against real Raft nodes.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Broker, encodeCommand, resolveLimits } from '../../../src/broker/index.js';
import type { ApiNode, NodeStatusView } from '../../../src/api/ports.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../../src/api/server.js';
import { DiskSpaceAlarm } from '../../../src/node/disk-space.js';
import { NoLeaderError, NotLeaderError } from '../../../src/node/errors.js';
import { overloadedBy, type PendingLimits } from '../../../src/node/proposals.js';
import { MemoryLog } from '../../broker/memory-log.js';

interface Member {
  id: string;
  url: string;
}

/** The leader: applies each proposal to the broker on the next turn of the event loop. */
export class DirectLeader implements ApiNode {
  private index = 0;
  /** The entries applied, from which answers read message bodies (as from a Raft log). */
  private readonly log = new MemoryLog();
  private forwardHandler?: (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>;
  members: Member[] = [];
  /** As RaftNode does: a tick entry once something in the broker fell due. */
  private readonly clock = setInterval(() => {
    const due = this.broker.nextDueAt();
    if (due !== undefined && due <= Date.now()) void this.propose(encodeCommand({ type: 'tick' }));
  }, 20);

  constructor(
    readonly id: string,
    private readonly broker: Broker,
  ) {}

  stop(): void {
    clearInterval(this.clock);
  }

  /** Set by a test: proposals then never finish (a leader that lost its quorum). */
  stalled = false;

  /** As RaftNode's: proposals beyond them are refused with OverloadedError. */
  pendingLimits: PendingLimits = { maxCount: 10_000, maxBytes: 64 * 1024 * 1024 };
  readonly pending = { count: 0, bytes: 0 };

  /** What this node's simulated disk reports free; a test lowers it, then runs disk.check(). */
  diskFreeBytes = Number.MAX_SAFE_INTEGER;
  /** The node layer's alarm, as RaftNode runs it, reading the simulated disk. */
  readonly disk = new DiskSpaceAlarm({
    dir: '(in-process)',
    minFreeBytes: 1024 * 1024 * 1024,
    logger: pino({ level: 'silent' }),
    probe: () => Promise.resolve({ bavail: this.diskFreeBytes, bsize: 1 }),
  });

  /** The command starts `headroom` bytes in (room for RaftNode's envelope, unused here). */
  async propose(withHeadroom: Uint8Array, headroom = 0): Promise<unknown> {
    const command = withHeadroom.subarray(headroom);
    const overloaded = overloadedBy(this.pending, command.length, this.pendingLimits);
    if (overloaded) throw overloaded;
    this.pending.count += 1;
    this.pending.bytes += command.length;
    if (this.stalled) return new Promise(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    this.pending.count -= 1;
    this.pending.bytes -= command.length;
    this.index += 1;
    this.log.add(this.index, command);
    return this.broker.answer(this.broker.apply(command, { index: this.index, term: 1, time: Date.now() }), this.log.read);
  }

  storageRefusal(): Error | undefined {
    return this.disk.refusal();
  }

  async readBarrier(): Promise<void> {}

  leadership() {
    return { role: 'leader', leaderId: this.id, leaderUrl: this.members.find((m) => m.id === this.id)?.url ?? null };
  }

  status(): NodeStatusView {
    const me = this.members.find((m) => m.id === this.id);
    return {
      nodeId: this.id,
      role: 'leader',
      term: 1,
      leaderId: this.id,
      leaderUrl: me?.url ?? null,
      commitIndex: this.index,
      appliedIndex: this.index,
      nodes: this.members.map((m) => ({ id: m.id, httpUrl: m.url, role: m.id === this.id ? 'leader' : 'follower', matchIndex: this.index })),
    };
  }

  isReady(): boolean {
    return true;
  }

  async forward(): Promise<Uint8Array> {
    throw new Error('the leader does not forward');
  }

  setForwardHandler(handler: (payload: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>): void {
    this.forwardHandler = handler;
  }

  serveForward(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (!this.forwardHandler) throw new NoLeaderError();
    return this.forwardHandler(payload, signal);
  }
}

/** A follower: sees the leader's applied state (stale reads), proposes nothing. */
class DirectFollower implements ApiNode {
  constructor(
    readonly id: string,
    private readonly leader: DirectLeader,
  ) {}

  private leaderUrl(): string {
    return this.leader.members.find((m) => m.id === this.leader.id)!.url;
  }

  async propose(): Promise<unknown> {
    throw new NotLeaderError(this.leader.id, this.leaderUrl());
  }

  async readBarrier(): Promise<void> {
    throw new NotLeaderError(this.leader.id, this.leaderUrl());
  }

  /** Sends are served by the leader, which asks its own disk. */
  storageRefusal(): Error | undefined {
    return undefined;
  }

  leadership() {
    return { ...this.leader.leadership(), role: 'follower' };
  }

  status(): NodeStatusView {
    return { ...this.leader.status(), nodeId: this.id, role: 'follower' };
  }

  isReady(): boolean {
    return true;
  }

  /** Every payload relayed to the leader, as it crossed the node-to-node link. */
  readonly relayed: Uint8Array[] = [];

  forward(payload: Uint8Array, _timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.relayed.push(payload);
    return this.leader.serveForward(payload, signal);
  }

  setForwardHandler(): void {}
}

export interface InProcessCluster {
  urls: string[];
  leaderUrl: string;
  followerUrls: string[];
  jwtSecret: string;
  clusterId: string;
  metricsToken: string;
  leader: DirectLeader;
  /** What each follower relayed to the leader (forward mode). */
  relayed(): Uint8Array[];
  close(): Promise<void>;
}

/** Server options a test may set; the config fields go to every node's ApiConfig. */
export type InProcessOptions = Partial<Pick<ApiServerOptions, 'loginLimits' | 'registerLimits' | 'headersTimeoutMs' | 'answerMarginMs' | 'stream'>> & {
  trustedProxies?: string[];
  maxConnections?: number;
  /** Per-user quotas, proposed first as a Raft leader proposes its --limits. */
  limits?: Record<string, number>;
};

export async function startInProcessCluster(mode: 'redirect' | 'forward', opts: InProcessOptions = {}): Promise<InProcessCluster> {
  const broker = new Broker();
  const leader = new DirectLeader('n1', broker);
  await leader.propose(encodeCommand({ type: 'cluster.limits', limits: resolveLimits(opts.limits ?? {}) }));
  const followers = [new DirectFollower('n2', leader), new DirectFollower('n3', leader)];
  const nodes: ApiNode[] = [leader, ...followers];
  const metricsToken = 'in-process-metrics-token-0123';
  const { trustedProxies, maxConnections, limits: _limits, ...serverOpts } = opts;
  const jwtSecret = 'in-process-test-secret-0123456789abcdef';
  const clusterId = `test-${mode}`;
  const servers: ApiServer[] = [];
  for (const node of nodes) {
    servers.push(
      await startApiServer({
        config: {
          nodeId: node.id,
          clusterId,
          httpListen: '127.0.0.1:0',
          advertisedHttpUrl: '',
          jwtSecret,
          jwtTtlMs: 3_600_000,
          leaderMode: mode,
          metricsToken,
          ...(trustedProxies ? { trustedProxies } : {}),
          ...(maxConnections ? { maxConnections } : {}),
        },
        node,
        broker,
        logger: pino({ level: 'silent' }),
        registry: new Registry(),
        ...serverOpts,
      }),
    );
  }
  const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
  leader.members = nodes.map((node, i) => ({ id: node.id, url: urls[i] }));
  return {
    urls,
    leaderUrl: urls[0],
    followerUrls: urls.slice(1),
    jwtSecret,
    clusterId,
    metricsToken,
    leader,
    relayed: () => followers.flatMap((f) => f.relayed),
    async close() {
      leader.stop();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
