import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { RawNode } from '../raft/raw-node.js';
import type { RaftConfig, Role } from '../raft/types.js';
import type { NodeConfig } from './config.js';
import { DiskSpaceAlarm, type FreeSpaceProbe } from './disk-space.js';
import { ForwardError, NoLeaderError, NodeStoppedError, NotLeaderError } from './errors.js';
import { Inbox } from './inbox.js';
import { RaftMetrics } from './metrics.js';
import { buildStatus, type NodeStatus } from './node-status.js';
import { Proposals, overloadedBy, type PendingLimits } from './proposals.js';
import { ReadBarriers } from './read-barriers.js';
import { ReadyLoop } from './ready-loop.js';
import { Snapshotter } from './snapshotter.js';
import { commandReader } from './command-reader.js';
import type { EntryReader, StateMachine } from './state-machine.js';
import { DiskLogStore } from './storage/disk-log-store.js';
import { Transport, type ForwardHandler } from './transport/transport.js';
import { mark } from './latency-trace.js';

export type { NodeStatus } from './node-status.js';

export interface RaftNodeOptions {
  config: NodeConfig;
  stateMachine: StateMachine;
  logger: Logger;
  registry?: Registry;
  /** The command the leader proposes after `idleTickMs` without proposals (the broker's
   *  `tick`, which expires leases without traffic). None: no idle proposals. */
  idleTickCommand?: () => Uint8Array;
  /** Overrides config.idleTickMs. */
  idleTickMs?: number;
  /** Reads the data dir's free space (default fs.statfs); tests simulate a full disk. */
  freeSpaceProbe?: FreeSpaceProbe;
  /** How often the disk-space alarm checks (default DISK_CHECK_INTERVAL_MS). */
  diskCheckIntervalMs?: number;
}

/**
 * One Raft node as the API sees it: the public facade that wires the pieces. The
 * Ready loop (ready-loop.ts) drives the core and does its I/O; the inbox (inbox.ts)
 * orders ticks and inbound messages; proposals and read barriers wait for their
 * entries; the snapshotter takes snapshots; the transport talks to peers.
 *
 * Events: 'leaderChange' (leaderId | null, term), 'roleChange' (role), 'applied'
 * (index), 'fatal' (error: the log failed or is corrupt; the node accepts nothing
 * more and the process should exit with exitCodeFor(error)).
 */
export class RaftNode extends EventEmitter {
  readonly id: string;
  private readonly metrics: RaftMetrics;
  private readonly httpUrlOf: Map<string, string>;

  private readonly inbox: Inbox;
  private readonly proposals: Proposals;
  private readonly pendingLimits: PendingLimits;
  private readonly reads = new ReadBarriers();
  private readonly snapshotter: Snapshotter;
  private readonly loop: ReadyLoop;
  private readonly disk: DiskSpaceAlarm;

  private lastProposalMs = Date.now();
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private failure: Error | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private forwardHandler: ForwardHandler | undefined;

  private constructor(
    private readonly opts: RaftNodeOptions,
    private readonly raw: RawNode,
    private readonly store: DiskLogStore,
    private transport: Transport | undefined,
    registry: Registry,
  ) {
    super();
    this.id = opts.config.nodeId;
    this.metrics = new RaftMetrics(registry);
    this.inbox = new Inbox(raw);
    this.proposals = new Proposals(this.metrics);
    this.pendingLimits = { maxCount: opts.config.maxPendingProposals, maxBytes: opts.config.maxPendingProposalBytes };
    this.snapshotter = new Snapshotter({
      config: opts.config,
      store,
      stateMachine: opts.stateMachine,
      logger: opts.logger,
      metrics: this.metrics,
      term: () => this.loop.term,
      halted: () => this.loop.halted,
      fatal: (err) => this.fatal(err),
    });
    this.snapshotter.noteHeld();
    this.disk = new DiskSpaceAlarm({
      dir: opts.config.dataDir,
      minFreeBytes: opts.config.minFreeDiskBytes,
      logger: opts.logger,
      ...(opts.diskCheckIntervalMs !== undefined ? { intervalMs: opts.diskCheckIntervalMs } : {}),
      ...(opts.freeSpaceProbe ? { probe: opts.freeSpaceProbe } : {}),
    });
    this.httpUrlOf = new Map(opts.config.peers.map((p) => [p.id, p.httpUrl]));
    this.loop = new ReadyLoop({
      config: opts.config,
      stateMachine: opts.stateMachine,
      logger: opts.logger,
      metrics: this.metrics,
      raw,
      store,
      inbox: this.inbox,
      proposals: this.proposals,
      reads: this.reads,
      snapshotter: this.snapshotter,
      send: (msgs) => this.transport!.send(msgs),
      leaderError: () => this.leaderError(),
      failAll: (proposalError, otherError) => this.failAll(proposalError, otherError),
      fatal: (err) => this.fatal(err),
      emit: (event, ...args) => void this.emit(event, ...args),
    });
  }

  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    const { config, logger, stateMachine } = opts;
    const voters = config.peers.map((p) => p.id);
    const store = await DiskLogStore.open(join(config.dataDir, 'raft'), { nodeId: config.nodeId, conf: { voters } });
    let node: RaftNode | undefined;
    if (store.repairedTail) logger.warn({ ...store.repairedTail }, 'the raft log ended in a write a crash interrupted; cut it off (it was never acknowledged)');
    try {
      const snap = store.snapshot();
      if (snap.meta.index > 0) stateMachine.restore(snap.data);
      const stored = store.initialState().conf.voters;
      if ([...stored].sort().join() !== [...voters].sort().join()) {
        logger.warn({ stored, configured: voters }, 'configured peers differ from the voters stored in the log; using the stored voters');
      }
      const raftConfig: RaftConfig = {
        id: config.nodeId,
        electionTicks: config.electionTicks,
        heartbeatTicks: config.heartbeatTicks,
        preVote: true,
        checkQuorum: true,
        // With group commit one append per follower carries a whole batch, so a short
        // window suffices; it also bounds memory during catch-up (x maxMessageBytes).
        maxInflightMessages: 64,
        maxMessageBytes: 1024 * 1024,
        snapshotChunkBytes: 1024 * 1024,
        // A restart or a catch-up applies its backlog in slices: memory stays bounded and
        // the loop keeps answering heartbeats between them.
        maxCommittedBytesPerReady: 8 * 1024 * 1024,
        rng: { int: (n) => randomInt(0, Math.max(1, n)) },
      };
      const raw = new RawNode(raftConfig, store);
      node = new RaftNode(opts, raw, store, undefined, opts.registry ?? new Registry());
      const self = node;
      self.transport = await Transport.start({
        nodeId: config.nodeId,
        clusterId: config.clusterId,
        clusterToken: config.clusterToken,
        listen: config.grpcListen,
        peers: config.peers,
        tls: config.tls,
        logger,
        onMessages: (msgs) => self.loop.receive(msgs),
        onUnreachable: (peer) => self.raw.reportUnreachable(peer),
      });
      if (self.forwardHandler) self.transport.setForwardHandler(self.forwardHandler);
      logger.info(
        { term: self.loop.term, commit: self.loop.commitIndex, applied: self.loop.applied, lastIndex: store.lastIndex(), grpc: config.grpcListen },
        'raft node started',
      );
      await self.disk.start();
      self.tickTimer = setInterval(() => self.onTick(), config.tickMs);
      self.loopDone = self.loop.run();
      return self;
    } catch (err) {
      node?.disk.stop();
      if (node?.transport) await node.transport.close().catch(() => {});
      await store.close().catch(() => {});
      throw err;
    }
  }

  // ---- what the API uses ----

  /** Proposes the command that starts `headroom` bytes into `command`; with
   *  COMMAND_HEADROOM (encodeCommand) it enters the log, and becomes its record, without a copy. */
  propose(command: Uint8Array, headroom = 0): Promise<unknown> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const overloaded = overloadedBy({ count: this.proposals.pending, bytes: this.proposals.pendingBytes }, command.length - headroom, this.pendingLimits);
    if (overloaded) {
      this.metrics.proposals.inc({ outcome: 'overloaded' });
      return Promise.reject(overloaded);
    }
    mark('propose');
    const committed = this.proposals.enqueue(command, headroom);
    this.lastProposalMs = Date.now();
    this.loop.kick();
    return committed;
  }

  /** Why new messages (sends, publishes) must be refused right now: this node's disk is
   *  below --min-free-disk-bytes. Everything else (receives, acks, deletes) goes on. */
  storageRefusal(): Error | undefined {
    return this.disk.refusal();
  }

  readBarrier(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      this.reads.enqueue({ resolve, reject });
      this.loop.kick();
    });
  }

  /** The last index applied to the state machine. */
  appliedIndex(): number {
    return this.loop.applied;
  }

  /** Reads the command of a committed entry from the log (StateMachine.answer's
   *  reader): undefined once compacted. */
  readonly readCommand: EntryReader = (index) => commandReader(this.store, [])(index);

  leadership(): { role: Role; leaderId: string | null; leaderUrl: string | null } {
    const leaderId = this.loop.leaderId || null;
    return { role: this.loop.role, leaderId, leaderUrl: leaderId ? (this.httpUrlOf.get(leaderId) ?? null) : null };
  }

  status(): NodeStatus {
    const st = this.raw.status();
    const { role, term, leaderId, commitIndex, applied } = this.loop;
    return buildStatus(
      {
        nodeId: this.id,
        peers: this.opts.config.peers,
        role,
        term,
        leaderId,
        commitIndex,
        applied,
        progress: st.progress,
        httpUrlOf: (id) => this.httpUrlOf.get(id),
        lastHeardMs: (id) => this.inbox.lastHeardMs(id),
      },
      Date.now(),
    );
  }

  isReady(): boolean {
    if (this.loop.halted || this.loop.leaderId === '' || this.loop.applied < this.loop.commitIndex) return false;
    return this.loop.role !== 'leader' || this.committedInTerm();
  }

  /** A new leader knows how far the log is committed (and has applied it) only once an
   *  entry of its own term has committed: until then its commit index may lag. */
  private committedInTerm(): boolean {
    const raft = this.raw.raft;
    try {
      return raft.log.term(raft.log.committed) === raft.term;
    } catch {
      return false;
    }
  }

  async forward(payload: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.failure) throw this.failure;
    if (this.stopped) throw new NodeStoppedError();
    if (this.loop.leaderId === '') throw new NoLeaderError();
    if (this.loop.leaderId === this.id) {
      if (!this.forwardHandler) throw new ForwardError('this node has no forward handler');
      return this.forwardHandler(payload, signal);
    }
    if (!this.transport) throw new NodeStoppedError();
    return this.transport.forward(this.loop.leaderId, payload, timeoutMs, signal);
  }

  setForwardHandler(handler: ForwardHandler): void {
    this.forwardHandler = handler;
    this.transport?.setForwardHandler(handler);
  }

  /** Leader only: hands leadership to `to` (used by benchmarks and operators). */
  transferLeader(to: string): boolean {
    const ok = this.raw.transferLeader(to);
    this.loop.kick();
    return ok;
  }

  /**
   * Before a planned stop: hands leadership to the most caught-up follower and waits
   * (up to timeoutMs) until this node is no longer leader, so clients fail over in
   * one round trip instead of an election timeout. False if it stayed leader.
   */
  async handOffLeadership(timeoutMs = 1500): Promise<boolean> {
    if (this.loop.role !== 'leader' || this.stopped) return true;
    const progress = this.raw.status().progress ?? {};
    const target = Object.entries(progress)
      .filter(([id]) => id !== this.id)
      .sort(([, a], [, b]) => b.match - a.match)[0]?.[0];
    if (target === undefined || !this.transferLeader(target)) return false;
    const deadline = Date.now() + timeoutMs;
    while (this.loop.role === 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.opts.logger.info({ term: this.loop.term, to: target, ok: this.loop.role !== 'leader' }, 'leadership handed off before stopping');
    return this.loop.role !== 'leader';
  }

  /** The error a write or read would get right now, if any. */
  private refusal(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.stopped) return new NodeStoppedError();
    if (this.loop.role === 'leader') return undefined;
    return this.leaderError();
  }

  private leaderError(): Error {
    if (this.loop.leaderId === '' || this.loop.leaderId === this.id) return new NoLeaderError();
    return new NotLeaderError(this.loop.leaderId, this.httpUrlOf.get(this.loop.leaderId) ?? null);
  }

  /** Stops accepting, lets the Ready in flight finish, fails what is left, closes the DB. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.stopped) return this.loopDone;
    this.stopped = true;
    this.disk.stop();
    // Accepted proposals get a moment to commit (their callers get real answers);
    // whatever is left after that fails with NodeStoppedError.
    const deadline = Date.now() + graceMs;
    while (!this.loop.halted && this.proposals.pending > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.halt();
    await this.loopDone;
    await this.snapshotter.abandon();
    this.failAll(() => new NodeStoppedError('the node stopped before the proposal committed; its outcome is unknown'));
    await this.transport?.close().catch(() => {});
    await this.store.close().catch((err) => this.opts.logger.error({ err }, 'closing the raft log failed'));
    this.opts.logger.info({ term: this.loop.term, applied: this.loop.applied }, 'raft node stopped');
  }

  // ---- inputs ----

  private onTick(): void {
    this.inbox.tick();
    if (this.loop.role === 'leader') this.maybeProposeIdleTick();
    this.loop.kick();
  }

  /**
   * The replicated clock moves only with entries: with nothing else proposed for
   * idleTickMs, or once something in the state machine fell due (a delayed message, an
   * expired lease) with no entry since to let it fire, the leader proposes the idle
   * tick command. A long poll then sees a delayed message within a tick of its time.
   */
  private maybeProposeIdleTick(): void {
    const command = this.opts.idleTickCommand;
    if (!command) return;
    const now = Date.now();
    const sinceProposal = now - this.lastProposalMs;
    const idleMs = this.opts.idleTickMs ?? this.opts.config.idleTickMs;
    const idle = idleMs > 0 && sinceProposal >= idleMs;
    const dueAt = this.opts.stateMachine.nextDueAt?.();
    const due = dueAt !== undefined && dueAt <= now && sinceProposal >= this.opts.config.tickMs;
    if (idle || due) this.propose(command()).catch(() => {});
  }

  private halt(): void {
    clearInterval(this.tickTimer);
    this.loop.halt();
  }

  private failAll(proposalError: () => Error, otherError: () => Error = proposalError): void {
    this.proposals.failAll(proposalError, otherError);
    this.reads.failAll(otherError);
  }

  private fatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.failure = error;
    this.opts.logger.fatal({ err: error, term: this.loop.term, applied: this.loop.applied }, 'raft node halted; it accepts no more writes');
    this.halt();
    this.failAll(() => error);
    // The transport stays up until stop() so that it fails fast instead of hanging peers.
    this.emit('fatal', error);
  }
}
