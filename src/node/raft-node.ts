import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { RawNode } from '../raft/raw-node.js';
import type { Entry, Message, RaftConfig, Ready, Role } from '../raft/types.js';
import type { NodeConfig } from './config.js';
import { decodeEnvelope } from './envelope.js';
import {
  ForwardError,
  NoLeaderError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalOutcomeUnknownError,
  StorageFailedError,
} from './errors.js';
import { RaftMetrics } from './metrics.js';
import { Proposals } from './proposals.js';
import { ReadBarriers } from './read-barriers.js';
import { Snapshotter } from './snapshotter.js';
import type { StateMachine } from './state-machine.js';
import { DiskLogStore } from './storage/disk-log-store.js';
import { encodeRecords } from './storage/entry-records.js';
import { Transport, type ForwardHandler } from './transport/transport.js';

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
}

export interface NodeStatus {
  nodeId: string;
  role: Role;
  term: number;
  leaderId: string | null;
  leaderUrl: string | null;
  commitIndex: number;
  appliedIndex: number;
  nodes: { id: string; httpUrl: string; role?: Role; matchIndex?: number; lastContactMs?: number }[];
}

/** A tick of the Raft clock, queued among the inbound messages. */
const TICK = Symbol('tick');
/**
 * The driver of one Raft node: owns every piece of I/O around the pure core. One
 * loop takes inputs (ticks, inbound messages, queued proposals and reads), feeds
 * them to the RawNode, and handles each Ready: persist (one synced batch; the
 * leader sends in parallel), send, apply, resolve waiting callers, advance.
 * Proposals that arrive while a Ready is being handled ride the next one (group
 * commit).
 *
 * Events: 'leaderChange' (leaderId | null, term), 'roleChange' (role), 'applied'
 * (index), 'fatal' (error: the log failed or is corrupt; the node accepts nothing
 * more and the process should exit with exitCodeFor(error)).
 */
export class RaftNode extends EventEmitter {
  readonly id: string;
  private readonly metrics: RaftMetrics;
  private readonly httpUrlOf: Map<string, string>;

  /** Ticks and inbound messages in the order they happened (see drainInputs). */
  private inbox: (Message | typeof TICK)[] = [];
  private slowWrites = 0;
  /** The loop waits on a write of this node's (see stepWhileWriting). */
  private writing = false;
  private stepWhileWritingQueued = false;
  private lastSlowWriteLogMs = 0;
  private readonly proposals: Proposals;
  private readonly reads = new ReadBarriers();

  private role: Role = 'follower';
  private leaderId = '';
  private term = 0;
  private commitIndex = 0;
  private applied: number;
  private lastProposalMs = Date.now();
  private readonly lastHeardMs = new Map<string, number>();

  private wakeLoop: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private halted = false;
  private stopped = false;
  private failure: Error | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private forwardHandler: ForwardHandler | undefined;
  private readonly snapshotter: Snapshotter;

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
    this.proposals = new Proposals(this.metrics);
    this.snapshotter = new Snapshotter({
      config: opts.config,
      store,
      stateMachine: opts.stateMachine,
      logger: opts.logger,
      metrics: this.metrics,
      term: () => this.term,
      halted: () => this.halted,
      fatal: (err) => this.fatal(err),
    });
    this.httpUrlOf = new Map(opts.config.peers.map((p) => [p.id, p.httpUrl]));
    const st = raw.status();
    this.term = st.term;
    this.commitIndex = st.commit;
    // The state machine was restored from the snapshot; the core hands out again the
    // entries the log kept below it (the compaction margin), which apply() skips.
    this.applied = Math.max(st.applied, store.snapshot().meta.index);
    this.metrics.setRole('follower');
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
        onMessages: (msgs) => self.receive(msgs),
        onUnreachable: (peer) => self.raw.reportUnreachable(peer),
      });
      if (self.forwardHandler) self.transport.setForwardHandler(self.forwardHandler);
      logger.info(
        { term: self.term, commit: self.commitIndex, applied: self.applied, lastIndex: store.lastIndex(), grpc: config.grpcListen },
        'raft node started',
      );
      self.tickTimer = setInterval(() => self.onTick(), config.tickMs);
      self.loopDone = self.loop();
      return self;
    } catch (err) {
      if (node?.transport) await node.transport.close().catch(() => {});
      await store.close().catch(() => {});
      throw err;
    }
  }

  // ---- what the API uses ----

  propose(command: Uint8Array): Promise<unknown> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const pending = this.proposals.pending;
    if (pending >= this.opts.config.maxPendingProposals) {
      this.metrics.proposals.inc({ outcome: 'overloaded' });
      return Promise.reject(new OverloadedError(pending));
    }
    const committed = this.proposals.enqueue(command);
    this.lastProposalMs = Date.now();
    this.kick();
    return committed;
  }

  readBarrier(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      this.reads.enqueue({ resolve, reject });
      this.kick();
    });
  }

  leadership(): { role: Role; leaderId: string | null; leaderUrl: string | null } {
    const leaderId = this.leaderId || null;
    return { role: this.role, leaderId, leaderUrl: leaderId ? (this.httpUrlOf.get(leaderId) ?? null) : null };
  }

  status(): NodeStatus {
    const st = this.raw.status();
    const now = Date.now();
    const leaderId = this.leaderId || null;
    return {
      nodeId: this.id,
      role: this.role,
      term: this.term,
      leaderId,
      leaderUrl: leaderId ? (this.httpUrlOf.get(leaderId) ?? null) : null,
      commitIndex: this.commitIndex,
      appliedIndex: this.applied,
      nodes: this.opts.config.peers.map((p) => {
        const node: NodeStatus['nodes'][number] = { id: p.id, httpUrl: p.httpUrl };
        if (p.id === this.id) node.role = this.role;
        else if (p.id === leaderId) node.role = 'leader';
        else if (this.role === 'leader') node.role = 'follower';
        const progress = st.progress?.[p.id];
        if (progress) node.matchIndex = progress.match;
        const heard = this.lastHeardMs.get(p.id);
        if (p.id !== this.id && heard !== undefined) node.lastContactMs = now - heard;
        return node;
      }),
    };
  }

  isReady(): boolean {
    if (this.halted || this.leaderId === '' || this.applied < this.commitIndex) return false;
    return this.role !== 'leader' || this.committedInTerm();
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
    if (this.leaderId === '') throw new NoLeaderError();
    if (this.leaderId === this.id) {
      if (!this.forwardHandler) throw new ForwardError('this node has no forward handler');
      return this.forwardHandler(payload, signal);
    }
    if (!this.transport) throw new NodeStoppedError();
    return this.transport.forward(this.leaderId, payload, timeoutMs, signal);
  }

  setForwardHandler(handler: ForwardHandler): void {
    this.forwardHandler = handler;
    this.transport?.setForwardHandler(handler);
  }

  /** Leader only: hands leadership to `to` (used by benchmarks and operators). */
  transferLeader(to: string): boolean {
    const ok = this.raw.transferLeader(to);
    this.kick();
    return ok;
  }

  /**
   * Before a planned stop: hands leadership to the most caught-up follower and waits
   * (up to timeoutMs) until this node is no longer leader, so clients fail over in
   * one round trip instead of an election timeout. False if it stayed leader.
   */
  async handOffLeadership(timeoutMs = 1500): Promise<boolean> {
    if (this.role !== 'leader' || this.stopped) return true;
    const progress = this.raw.status().progress ?? {};
    const target = Object.entries(progress)
      .filter(([id]) => id !== this.id)
      .sort(([, a], [, b]) => b.match - a.match)[0]?.[0];
    if (target === undefined || !this.transferLeader(target)) return false;
    const deadline = Date.now() + timeoutMs;
    while (this.role === 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.opts.logger.info({ term: this.term, to: target, ok: this.role !== 'leader' }, 'leadership handed off before stopping');
    return this.role !== 'leader';
  }

  /** The error a write or read would get right now, if any. */
  private refusal(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.stopped) return new NodeStoppedError();
    if (this.role === 'leader') return undefined;
    return this.leaderError();
  }

  private leaderError(): Error {
    if (this.leaderId === '' || this.leaderId === this.id) return new NoLeaderError();
    return new NotLeaderError(this.leaderId, this.httpUrlOf.get(this.leaderId) ?? null);
  }

  /** Stops accepting, lets the Ready in flight finish, fails what is left, closes the DB. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.stopped) return this.loopDone;
    this.stopped = true;
    // Accepted proposals get a moment to commit (their callers get real answers);
    // whatever is left after that fails with NodeStoppedError.
    const deadline = Date.now() + graceMs;
    while (!this.halted && this.proposals.pending > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.halt();
    await this.loopDone;
    await this.snapshotter.abandon();
    this.failAll(() => new NodeStoppedError('the node stopped before the proposal committed; its outcome is unknown'));
    await this.transport?.close().catch(() => {});
    await this.store.close().catch((err) => this.opts.logger.error({ err }, 'closing the raft log failed'));
    this.opts.logger.info({ term: this.term, applied: this.applied }, 'raft node stopped');
  }

  // ---- inputs ----

  private receive(msgs: Message[]): void {
    if (this.halted) return;
    const now = Date.now();
    for (const m of msgs) {
      this.inbox.push(m);
      this.lastHeardMs.set(m.from, now);
    }
    this.kick();
  }

  private onTick(): void {
    this.inbox.push(TICK);
    if (this.role === 'leader') this.maybeProposeIdleTick();
    this.kick();
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

  private kick(): void {
    const wake = this.wakeLoop;
    if (wake) {
      this.wakeLoop = undefined;
      wake();
    } else if (this.writing && !this.stepWhileWritingQueued) {
      this.stepWhileWritingQueued = true;
      setImmediate(() => this.stepWhileWriting());
    }
  }

  /**
   * The loop is parked on this node's disk write: ticks and messages of its term are
   * fed to the core now, and what may go early goes out at once
   * (RawNode.takeEarlyMessages): a leader's heartbeats and appends, a follower's
   * heartbeat answers. So a slow fsync on the leader does not look like a dead leader
   * to its followers, and slow followers do not make the leader fail check-quorum.
   * A message of a newer term (it changes term and vote, which must be written first),
   * or a change of role, leaves the rest of the inputs to the loop.
   */
  private stepWhileWriting(): void {
    this.stepWhileWritingQueued = false;
    if (!this.writing || this.halted) return;
    const raft = this.raw.raft;
    const { term, role } = raft;
    let taken = 0;
    for (const input of this.inbox) {
      if (input !== TICK && input.term > term) break;
      taken++;
      this.feed(input);
      if (raft.role !== role) break;
    }
    if (taken > 0) this.inbox.splice(0, taken);
    const msgs = this.raw.takeEarlyMessages();
    if (msgs.length > 0) this.transport!.send(msgs);
  }

  private halt(): void {
    this.halted = true;
    clearInterval(this.tickTimer);
    this.kick();
  }

  // ---- the loop ----

  private async loop(): Promise<void> {
    try {
      while (!this.halted) {
        this.drainInputs();
        if (this.raw.hasReady()) await this.handleReady(this.raw.ready());
        else await new Promise<void>((resolve) => (this.wakeLoop = resolve));
      }
    } catch (err) {
      this.fatal(err);
    }
  }

  private feed(input: Message | typeof TICK): void {
    if (input === TICK) this.raw.tick();
    else this.raw.step(input);
  }

  private drainInputs(): void {
    // Time and messages are fed in the order they came: after a long disk write the
    // heartbeats that arrived during it must count before the ticks that followed
    // them, or a follower would start an election (and a leader fail check-quorum)
    // against a peer it was hearing from all along.
    if (this.inbox.length > 0) {
      const inputs = this.inbox;
      this.inbox = [];
      for (const input of inputs) this.feed(input);
    }
    if (this.proposals.hasQueued) {
      this.proposals.proposeQueued(
        Date.now(),
        (datas) => this.role === 'leader' && this.raw.proposeMany(datas),
        () => (this.role === 'leader' ? new NoLeaderError('leadership is being transferred; retry shortly') : this.leaderError()),
      );
    }
    if (this.reads.hasQueued) {
      this.reads.startRound(
        (ctx) => this.role === 'leader' && this.raw.readIndex(ctx),
        () => this.leaderError(),
      );
    }
    this.metrics.pendingProposals.set(this.proposals.pending);
  }

  private async handleReady(rd: Ready): Promise<void> {
    const wasLeader = this.role === 'leader';
    if (rd.softState) this.noteSoftState(rd.softState.role, rd.softState.leaderId);
    if (rd.hardState) this.noteTerm(rd.hardState.term);
    const leader = this.role === 'leader';

    // The leader encodes its new entries once, as the log stores them: the same bytes
    // go to its segment and to the followers, which write them as received.
    if (leader && rd.entries.length > 0) encodeRecords(rd.entries);
    // The leader replicates while its own write is in flight; anyone else answers
    // only after the write (votes and acknowledgements must be durable first).
    if (leader && rd.messages.length > 0) this.transport!.send(rd.messages);

    // Committed entries already in the durable log need not wait for this Ready's
    // write: they are applied (and their callers answered) while the disk syncs.
    // Entries that arrive in this very Ready, or follow a snapshot, wait for it.
    let early: Entry[] = [];
    let late = rd.committedEntries;
    if (!rd.snapshot && late.length > 0) {
      const durable = this.store.lastIndex();
      let k = 0;
      while (k < late.length && late[k].index <= durable) k++;
      early = k === late.length ? late : late.slice(0, k);
      late = k === late.length ? [] : late.slice(k);
    }

    // Only term and vote must be durable; the commit index is learned again from the
    // leader after a restart, so it is written only along with them. Writing it with
    // every batch put the hard-state key into every LevelDB file, and files that share
    // a key overlap: LevelDB then rewrites the log instead of moving its files down.
    const saved = this.store.savedHardState;
    const hardState = rd.hardState && (rd.hardState.term !== saved.term || rd.hardState.vote !== saved.vote) ? rd.hardState : undefined;
    // A snapshot from the leader replaces ours: the one being taken is dropped first,
    // so that its compaction cannot race the install on disk.
    if (rd.snapshot) await this.snapshotter.abandon();
    if (rd.mustSync || rd.entries.length > 0 || rd.snapshot) {
      const started = performance.now();
      let write: Promise<void>;
      try {
        write = Promise.resolve(this.store.save({ hardState, entries: rd.entries, snapshot: rd.snapshot }));
      } catch (err) {
        write = Promise.reject(err);
      }
      write.catch(() => {}); // observed below, after the early applies
      if (early.length > 0) this.apply(early);
      this.writing = true;
      try {
        await write;
      } catch (err) {
        throw err instanceof StorageFailedError ? err : new StorageFailedError(`persisting the raft log failed: ${(err as Error).message}`, { cause: err });
      } finally {
        this.writing = false;
      }
      const writeMs = performance.now() - started;
      if (rd.mustSync) {
        this.metrics.fsyncLatency.observe(writeMs / 1000);
        if (rd.entries.length > 0) this.metrics.readyBatchEntries.observe(rd.entries.length);
      }
      this.noteSlowWrite(writeMs, rd);
    } else if (early.length > 0) {
      this.apply(early);
    }
    if (!leader && rd.messages.length > 0) this.transport!.send(rd.messages);

    if (rd.snapshot && rd.snapshot.meta.index > this.applied) {
      this.opts.stateMachine.restore(rd.snapshot.data);
      this.applied = rd.snapshot.meta.index;
      this.snapshotter.noteInstalled();
      this.metrics.snapshots.inc({ kind: 'installed' });
      this.opts.logger.info({ term: this.term, index: this.applied }, 'installed a snapshot from the leader');
    }
    if (rd.hardState) this.commitIndex = Math.max(this.commitIndex, rd.hardState.commit);
    if (late.length > 0) this.apply(late);
    this.reads.confirm(rd.readStates);
    this.reads.release(this.applied);
    // Leadership lost: what we proposed may still commit under the next leader, or not.
    if (wasLeader && !leader) this.failAll(() => new ProposalOutcomeUnknownError(), () => this.leaderError());

    this.raw.advance(rd);
    this.metrics.commitIndex.set(this.commitIndex);
    this.metrics.appliedIndex.set(this.applied);
    if (leader) this.noteLag();
    this.snapshotter.maybeStart(this.applied);
  }

  /**
   * A write that takes a good part of the election timeout stalls this node's Raft
   * loop (a follower acknowledges nothing meanwhile, a leader proposes nothing new):
   * operators should hear of it, as etcd warns of slow fdatasync. At most one line
   * per 5 s, with the count since.
   */
  private noteSlowWrite(writeMs: number, rd: Ready): void {
    const { tickMs, electionTicks } = this.opts.config;
    if (writeMs < (tickMs * electionTicks) / 2) return;
    this.slowWrites++;
    const now = Date.now();
    if (now - this.lastSlowWriteLogMs < 5000) return;
    this.lastSlowWriteLogMs = now;
    const last = rd.entries.at(-1);
    this.opts.logger.warn(
      { term: this.term, index: last?.index, ms: Math.round(writeMs), entries: rd.entries.length, snapshot: rd.snapshot !== undefined, slowWrites: this.slowWrites },
      'slow disk write: the Raft loop waited for it',
    );
    this.slowWrites = 0;
  }

  private apply(entries: Entry[]): void {
    const sm = this.opts.stateMachine;
    const now = performance.now();
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      this.applied = e.index;
      this.snapshotter.noteApplied(e.data.length);
      if (e.type !== 'normal' || e.data.length === 0) continue; // a leader's no-op, or a config entry
      const env = decodeEnvelope(e.data);
      const waiter = this.proposals.claim(env);
      let result: unknown;
      try {
        result = sm.apply(env.command, { index: e.index, term: e.term, time: env.time });
      } catch (err) {
        // apply is deterministic, so every replica failed the same way: report it
        // to the caller and carry on with the next entry.
        this.opts.logger.error({ err, index: e.index, term: e.term }, 'state machine apply threw');
        if (waiter) waiter.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (waiter) this.proposals.resolve(waiter, result, now);
    }
    this.commitIndex = Math.max(this.commitIndex, this.applied);
    this.emit('applied', this.applied);
  }

  // ---- state changes ----

  private noteSoftState(role: Role, leaderId: string): void {
    const { logger } = this.opts;
    if (role !== this.role) {
      const from = this.role;
      this.role = role;
      this.metrics.setRole(role);
      if (from === 'leader') this.metrics.followerLag.reset();
      logger.info({ term: this.raw.status().term, from, role }, 'role changed');
      this.emit('roleChange', role);
    }
    if (leaderId !== this.leaderId) {
      this.leaderId = leaderId;
      this.metrics.leaderChanges.inc();
      logger.info({ term: this.raw.status().term, leaderId: leaderId || null }, leaderId ? 'leader changed' : 'leader lost');
      this.emit('leaderChange', leaderId || null, this.raw.status().term);
    }
  }

  private noteTerm(term: number): void {
    if (term === this.term) return;
    this.term = term;
    this.metrics.term.set(term);
  }

  private noteLag(): void {
    const st = this.raw.status();
    if (!st.progress) return;
    for (const [peer, pr] of Object.entries(st.progress)) {
      if (peer !== this.id) this.metrics.followerLag.set({ peer }, st.lastIndex - pr.match);
    }
  }

  private failAll(proposalError: () => Error, otherError: () => Error = proposalError): void {
    this.proposals.failAll(proposalError, otherError);
    this.reads.failAll(otherError);
  }

  private fatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.failure = error;
    this.opts.logger.fatal({ err: error, term: this.term, applied: this.applied }, 'raft node halted; it accepts no more writes');
    this.halt();
    this.failAll(() => error);
    // The transport stays up until stop() so that it fails fast instead of hanging peers.
    this.emit('fatal', error);
  }
}
