import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RawNode } from '../raft/raw-node.js';
import type { Entry, Message, Ready, Role } from '../raft/types.js';
import type { NodeConfig } from './config.js';
import { commandReader } from './command-reader.js';
import { decodeEnvelope } from './envelope.js';
import { NoLeaderError, ProposalOutcomeUnknownError, StorageFailedError } from './errors.js';
import type { Inbox } from './inbox.js';
import type { RaftMetrics } from './metrics.js';
import type { Proposals } from './proposals.js';
import type { ReadBarriers } from './read-barriers.js';
import type { Snapshotter } from './snapshotter.js';
import type { StateMachine } from './state-machine.js';
import type { DiskLogStore } from './storage/disk-log-store.js';
import { encodeRecords } from './storage/entry-records.js';
import { mark, markMessages } from './latency-trace.js';
import { BusyPoll } from './busy-poll.js';

export interface ReadyLoopDeps {
  config: NodeConfig;
  stateMachine: StateMachine;
  logger: Logger;
  metrics: RaftMetrics;
  raw: RawNode;
  store: DiskLogStore;
  inbox: Inbox;
  proposals: Proposals;
  reads: ReadBarriers;
  snapshotter: Snapshotter;
  /** Sends messages to peers (the transport, once it is up). */
  send(msgs: Message[]): void;
  /** The error for a caller who should go to the leader. */
  leaderError(): Error;
  /** Fails every waiting proposal and read. */
  failAll(proposalError: () => Error, otherError?: () => Error): void;
  /** The loop failed (the log failed or is corrupt): the node must halt. */
  fatal(err: unknown): void;
  /** Emits the node's events: 'leaderChange', 'roleChange', 'applied'. */
  emit(event: string, ...args: unknown[]): void;
}

/** Light load: at most this many writes in flight, one request or a few. A follower
 *  then writes its Ready on the event loop (storage/segments/loop-writes.ts) while at
 *  most this many entries of its log are not yet committed; a leader polls instead of
 *  sleeping (busy-poll.ts) while at most this many proposals wait. Above it a loop is
 *  rarely idle anyway, a follower reads its next appends during the write, and the
 *  cores go to the followers. */
export const LIGHT_LOAD_WRITES = 4;
/** The leader's polling also wants at most this many bytes of commands waiting. */
const BUSY_POLL_MAX_BYTES = 64 * 1024;

/**
 * The Ready loop of one node: takes inputs (ticks, inbound messages, queued
 * proposals and reads), feeds them to the RawNode, and handles each Ready: persist
 * (one synced batch; the leader sends in parallel), send, apply, resolve waiting
 * callers, advance. Proposals that arrive while a Ready is being handled ride the
 * next one (group commit). It keeps what the node knows of itself (role, leader,
 * term, commit and applied index) for the facade to read.
 */
export class ReadyLoop {
  private _role: Role = 'follower';
  private _leaderId = '';
  private _term = 0;
  private _commitIndex = 0;
  private _applied: number;
  private _halted = false;

  private slowWrites = 0;
  /** The write of this node's the loop waits on (see stepWhileWriting): the entries of
   *  its Ready, and those of its committed entries that wait for it, which a leader
   *  applies sooner when its followers commit entries meanwhile. */
  private writing: { entries: readonly Entry[]; late: Entry[] } | undefined;
  private stepWhileWritingQueued = false;
  private lastSlowWriteLogMs = 0;
  private wakeLoop: (() => void) | undefined;
  private readonly busyPoll: BusyPoll;

  constructor(private readonly d: ReadyLoopDeps) {
    const st = d.raw.status();
    this._term = st.term;
    this._commitIndex = st.commit;
    // The state machine was restored from the snapshot; the core hands out again the
    // entries the log kept below it (the compaction margin), which apply() skips.
    this._applied = Math.max(st.applied, d.store.snapshot().meta.index);
    d.metrics.setRole('follower');
    d.metrics.readFrom(this);
    this.busyPoll = new BusyPoll(() => this.pollWanted(), d.config.leaderBusyPollUs / 1000);
  }

  /** A leader whose proposals wait, at light load, polls instead of sleeping (busy-poll.ts). */
  private pollWanted(): boolean {
    const { pending, pendingBytes } = this.d.proposals;
    return this._role === 'leader' && pending > 0 && pending <= LIGHT_LOAD_WRITES && pendingBytes <= BUSY_POLL_MAX_BYTES;
  }

  get role(): Role {
    return this._role;
  }
  /** '' when unknown. */
  get leaderId(): string {
    return this._leaderId;
  }
  get term(): number {
    return this._term;
  }
  get commitIndex(): number {
    return this._commitIndex;
  }
  get applied(): number {
    return this._applied;
  }
  get halted(): boolean {
    return this._halted;
  }
  /** The loop polls instead of sleeping (busy-poll.ts). */
  get busyPolling(): boolean {
    return this.busyPoll.polling;
  }

  // ---- inputs ----

  receive(msgs: Message[]): void {
    if (this._halted) return;
    this.d.inbox.receive(msgs, Date.now());
    this.kick();
  }

  /** Something to do: wakes the loop, or feeds the core while the loop waits on a write. */
  kick(): void {
    const wake = this.wakeLoop;
    if (wake) {
      this.wakeLoop = undefined;
      wake();
    } else if (this.writing !== undefined && !this.stepWhileWritingQueued) {
      this.stepWhileWritingQueued = true;
      setImmediate(() => this.stepWhileWriting());
    }
  }

  /** The loop ends after the Ready in flight. */
  halt(): void {
    this._halted = true;
    this.kick();
  }

  /**
   * The loop is parked on this node's disk write: ticks and messages of its term are
   * fed to the core now, and what may go early goes out at once
   * (RawNode.takeEarlyMessages): a leader's heartbeats and appends, a follower's
   * heartbeat answers. So a slow fsync on the leader does not look like a dead leader
   * to its followers, and slow followers do not make the leader fail check-quorum.
   * A message of a newer term, or a change of role, leaves the rest of the inputs to
   * the loop (Inbox.feedWhileWriting).
   */
  private stepWhileWriting(): void {
    this.stepWhileWritingQueued = false;
    if (this.writing === undefined || this._halted) return;
    this.d.inbox.feedWhileWriting();
    const msgs = this.d.raw.takeEarlyMessages();
    if (msgs.length > 0) this.d.send(msgs);
    // A leader's followers may have made entries durable before its own disk did: what
    // they committed is applied (and its callers answered) now, in log order.
    const committed = this.d.raw.takeCommittedWhileWriting();
    if (committed.length > 0) {
      mark('commit.early', committed[committed.length - 1].index);
      const { entries, late } = this.writing;
      this.writing.late = [];
      this.apply(late.length > 0 ? late.concat(committed) : committed, entries);
      this.d.reads.release(this._applied);
    }
  }

  // ---- the loop ----

  /** Runs until halted; a failure goes to deps.fatal. */
  async run(): Promise<void> {
    try {
      while (!this._halted) {
        this.drainInputs();
        if (this.d.raw.hasReady()) await this.handleReady(this.d.raw.ready());
        else await new Promise<void>((resolve) => (this.wakeLoop = resolve));
      }
    } catch (err) {
      this.d.fatal(err);
    }
  }

  private drainInputs(): void {
    const { raw, proposals, reads } = this.d;
    this.d.inbox.feedAll();
    if (proposals.hasQueued) {
      // At light load the answers to what is proposed now come in well under a
      // millisecond: the leader does not go to sleep meanwhile (busy-poll.ts).
      if (this.pollWanted()) this.busyPoll.start();
      proposals.proposeQueued(
        Date.now(),
        (datas) => this._role === 'leader' && raw.proposeMany(datas),
        () => (this._role === 'leader' ? new NoLeaderError('leadership is being transferred; retry shortly') : this.d.leaderError()),
      );
    }
    if (reads.hasQueued) {
      reads.startRound(
        (ctx) => this._role === 'leader' && raw.readIndex(ctx),
        () => this.d.leaderError(),
      );
    }
    this.d.metrics.pendingProposals.set(proposals.pending);
  }

  private async handleReady(rd: Ready): Promise<void> {
    const { store, snapshotter, metrics } = this.d;
    const wasLeader = this._role === 'leader';
    if (rd.softState) this.noteSoftState(rd.softState.role, rd.softState.leaderId);
    if (rd.hardState) this.noteTerm(rd.hardState.term);
    const leader = this._role === 'leader';
    mark('ready', rd.entries.at(-1)?.index ?? rd.committedEntries.at(-1)?.index ?? 0, `${rd.entries.length}+${rd.committedEntries.length}`);

    // The leader encodes its new entries once, as the log stores them: the same bytes
    // go to its segment and to the followers, which write them as received.
    if (leader && rd.entries.length > 0) encodeRecords(rd.entries);
    // The leader replicates while its own write is in flight; anyone else answers
    // only after the write (votes and acknowledgements must be durable first).
    if (leader && rd.messages.length > 0) {
      markMessages('send', rd.messages);
      this.d.send(rd.messages);
    }

    // Committed entries already in the durable log need not wait for this Ready's
    // write: they are applied (and their callers answered) while the disk syncs.
    // Entries that arrive in this very Ready, or follow a snapshot, wait for it.
    let early: Entry[] = [];
    let late = rd.committedEntries;
    if (!rd.snapshot && late.length > 0) {
      const durable = store.lastIndex();
      let k = 0;
      while (k < late.length && late[k].index <= durable) k++;
      early = k === late.length ? late : late.slice(0, k);
      late = k === late.length ? [] : late.slice(k);
    }

    // Only term and vote must be durable; the commit index is learned again from the
    // leader after a restart, so it is written only along with them. Writing it with
    // every batch put the hard-state key into every LevelDB file, and files that share
    // a key overlap: LevelDB then rewrites the log instead of moving its files down.
    const saved = store.savedHardState;
    const hardState = rd.hardState && (rd.hardState.term !== saved.term || rd.hardState.vote !== saved.vote) ? rd.hardState : undefined;
    // A snapshot from the leader replaces ours: the one being taken is dropped first,
    // so that its compaction cannot race the install on disk.
    if (rd.snapshot) await snapshotter.abandon();
    // A follower that writes on the loop applies after its answer has gone (the
    // answer would wait for the applies); otherwise they run while the disk syncs.
    let onLoop = false;
    if (rd.mustSync || rd.entries.length > 0 || rd.snapshot) {
      // Under light load (few entries not yet committed: one request or a few in
      // flight) a follower writes on the loop: it answers only once its write is
      // durable and has nothing else to do meanwhile. A leader writes through the pool:
      // its loop meanwhile reads requests and its followers' answers (written on its
      // loop, its write cost receive+ack and stream sends 10-20 % of their rate).
      // Under load a follower writes through the pool too, and reads the next appends.
      const last = rd.entries.at(-1)?.index ?? 0;
      onLoop = !leader && rd.entries.length > 0 && last - Math.max(this._commitIndex, rd.hardState?.commit ?? 0) <= LIGHT_LOAD_WRITES;
      const started = performance.now();
      mark('write.start', last);
      let write: Promise<void>;
      try {
        write = Promise.resolve(store.save({ hardState, entries: rd.entries, snapshot: rd.snapshot }, onLoop));
      } catch (err) {
        write = Promise.reject(err);
      }
      write.catch(() => {}); // observed below, after the early applies
      if (!onLoop && early.length > 0) this.apply(early);
      this.writing = { entries: rd.entries, late };
      try {
        await write;
      } catch (err) {
        throw err instanceof StorageFailedError ? err : new StorageFailedError(`persisting the raft log failed: ${(err as Error).message}`, { cause: err });
      } finally {
        this.writing = undefined;
      }
      mark('write.done', last);
      const writeMs = performance.now() - started;
      if (rd.mustSync) {
        metrics.fsyncLatency.observe(writeMs / 1000);
        if (rd.entries.length > 0) metrics.readyBatchEntries.observe(rd.entries.length);
      }
      this.noteSlowWrite(writeMs, rd);
    } else if (early.length > 0) {
      this.apply(early);
    }
    if (!leader && rd.messages.length > 0) {
      markMessages('send', rd.messages);
      this.d.send(rd.messages);
    }
    if (onLoop && early.length > 0) {
      // The answer above reaches the socket in this turn's check phase (Node's HTTP/2
      // session writes there): applying one immediate later keeps the applies off the
      // answer's path instead of running before its frame is even handed to grpc-js.
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.apply(early);
    }

    if (rd.snapshot && rd.snapshot.meta.index > this._applied) {
      this.d.stateMachine.restore(rd.snapshot.data);
      this._applied = rd.snapshot.meta.index;
      snapshotter.noteInstalled();
      metrics.snapshots.inc({ kind: 'installed' });
      // firstIndex: the log now starts where the leader's did (the entries it keeps below
      // the snapshot came with it).
      this.d.logger.info({ term: this._term, index: this._applied, firstIndex: this.d.store.firstIndex() }, 'installed a snapshot from the leader');
    }
    if (rd.hardState) this._commitIndex = Math.max(this._commitIndex, rd.hardState.commit);
    if (late.length > 0) this.apply(late);
    this.d.reads.confirm(rd.readStates);
    this.d.reads.release(this._applied);
    // Leadership lost: what we proposed may still commit under the next leader, or not.
    if (wasLeader && !leader) this.d.failAll(() => new ProposalOutcomeUnknownError(), () => this.d.leaderError());

    this.d.raw.advance(rd);
    snapshotter.maybeStart(this._applied);
  }

  /**
   * A write that takes a good part of the election timeout stalls this node's Raft
   * loop (a follower acknowledges nothing meanwhile, a leader proposes nothing new):
   * operators should hear of it, as etcd warns of slow fdatasync. At most one line
   * per 5 s, with the count since.
   */
  private noteSlowWrite(writeMs: number, rd: Ready): void {
    const { tickMs, electionTicks } = this.d.config;
    if (writeMs < (tickMs * electionTicks) / 2) return;
    this.slowWrites++;
    const now = Date.now();
    if (now - this.lastSlowWriteLogMs < 5000) return;
    this.lastSlowWriteLogMs = now;
    const last = rd.entries.at(-1);
    this.d.logger.warn(
      { term: this._term, index: last?.index, ms: Math.round(writeMs), entries: rd.entries.length, snapshot: rd.snapshot !== undefined, slowWrites: this.slowWrites },
      'slow disk write: the Raft loop waited for it',
    );
    this.slowWrites = 0;
  }

  /** Applies committed `entries` in order, answering their callers; `writing`: the
   *  entries of a write still in flight, which the answers may read. */
  private apply(entries: Entry[], writing: readonly Entry[] = []): void {
    const { stateMachine: sm, proposals, snapshotter } = this.d;
    const now = performance.now();
    const read = commandReader(this.d.store, entries, writing);
    for (const e of entries) {
      if (e.index <= this._applied) continue;
      this._applied = e.index;
      snapshotter.noteApplied(e.data.length);
      if (e.type !== 'normal' || e.data.length === 0) continue; // a leader's no-op, or a config entry
      const env = decodeEnvelope(e.data);
      const waiter = proposals.claim(env);
      let result: unknown;
      try {
        result = sm.apply(env.command, { index: e.index, term: e.term, time: env.time });
      } catch (err) {
        // apply is deterministic, so every replica failed the same way: report it
        // to the caller and carry on with the next entry.
        this.d.logger.error({ err, index: e.index, term: e.term }, 'state machine apply threw');
        if (waiter) waiter.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (!waiter) continue;
      // The answering node fills in what the state keeps in the log (message bodies).
      if (sm.answer) {
        try {
          result = sm.answer(result, read);
        } catch (err) {
          this.d.logger.error({ err, index: e.index, term: e.term }, 'state machine answer threw');
          waiter.reject(err instanceof Error ? err : new Error(String(err)));
          continue;
        }
      }
      mark('apply', e.index);
      proposals.resolve(waiter, result, now);
    }
    this._commitIndex = Math.max(this._commitIndex, this._applied);
    this.d.emit('applied', this._applied);
  }

  // ---- state changes ----

  private noteSoftState(role: Role, leaderId: string): void {
    const { logger, metrics, raw } = this.d;
    if (role !== this._role) {
      const from = this._role;
      this._role = role;
      metrics.setRole(role);
      logger.info({ term: raw.status().term, from, role }, 'role changed');
      this.d.emit('roleChange', role);
    }
    if (leaderId !== this._leaderId) {
      this._leaderId = leaderId;
      metrics.leaderChanges.inc();
      logger.info({ term: raw.status().term, leaderId: leaderId || null }, leaderId ? 'leader changed' : 'leader lost');
      this.d.emit('leaderChange', leaderId || null, raw.status().term);
    }
  }

  private noteTerm(term: number): void {
    if (term === this._term) return;
    this._term = term;
    this.d.metrics.term.set(term);
  }

  /** Leader only: how far each follower's log is behind this one's (scraped as
   *  mom_raft_follower_lag_entries). */
  followerLags(): Array<[string, number]> {
    const st = this.d.raw.status();
    if (this._role !== 'leader' || !st.progress) return [];
    const lags: Array<[string, number]> = [];
    for (const [peer, pr] of Object.entries(st.progress)) {
      if (peer !== this.d.config.nodeId) lags.push([peer, st.lastIndex - pr.match]);
    }
    return lags;
  }
}
