import type {
  Entry,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  RaftStatus,
  Ready,
  SoftState,
} from './types.js';
import type { LogStore } from './storage/log-store.js';
import { Raft } from './raft.js';

/**
 * The driver's handle on the Raft core (etcd's RawNode). Typical loop:
 *
 *   node.tick() every tickMs; node.step(msg) for every message received;
 *   if (node.hasReady()) { const rd = node.ready(); persist; send; apply; node.advance(rd); }
 *
 * Only one Ready is outstanding at a time: hasReady() is false until advance().
 *
 * Message sending rule: if the node is leader after this Ready (rd.softState?.role, or
 * the last role seen), its messages may be sent while the write is in flight; the
 * leader counts itself in the commit quorum only once advance() reports its entries
 * persisted (and, while that write lasts, it may send takeEarlyMessages() as they
 * come). Otherwise messages are sent only after the write completed, but for the
 * heartbeat answers takeEarlyMessages() hands out.
 *
 * On start the state machine must be restored from store.snapshot(); committed
 * entries after the snapshot index are then handed out again in Ready.committedEntries.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;
  /** The term as of the Ready before the outstanding one, whose write is complete. */
  private termBeforeOutstanding = 0;

  constructor(config: RaftConfig, store: LogStore) {
    this.raft = new Raft(config, store);
    this.prevSoft = this.softState();
    this.prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message from a peer. Messages not addressed to this node are ignored. */
  step(msg: Message): void {
    if (msg.to !== this.raft.id) return;
    this.raft.step(msg);
  }

  /** Starts an election now (tests and leader bootstrap); the usual path is tick(). */
  campaign(): void {
    this.raft.hup(false);
  }

  /** Appends one entry. False when not leader or a leader transfer is in progress. */
  propose(data: Uint8Array): boolean {
    return this.proposeMany([data]);
  }

  /** Appends all of `datas` as one batch (consecutive entries, one append per follower). */
  proposeMany(datas: Uint8Array[]): boolean {
    if (this.raft.role !== 'leader' || this.raft.leadTransferee !== '') return false;
    if (datas.length === 0) return true;
    const ents = new Array<Entry>(datas.length);
    for (let i = 0; i < datas.length; i++) ents[i] = { term: 0, index: 0, type: 'normal', data: datas[i] };
    this.raft.appendEntries(ents);
    return true;
  }

  /**
   * Asks for a linearizable read point. On success a ReadState with the same context
   * appears in a later Ready; it never does if leadership is lost first (the driver
   * fails pending reads when the role changes). False when not leader.
   */
  readIndex(context: Uint8Array): boolean {
    return this.raft.readIndex(context);
  }

  /** Leader: hands leadership to `to` once its log is caught up (TimeoutNow). */
  transferLeader(to: NodeId): boolean {
    return this.raft.transferLeader(to);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    r.flushAppends();
    const soft = this.softState();
    if (soft.role !== this.prevSoft.role || soft.leaderId !== this.prevSoft.leaderId) return true;
    const hs = r.hardState();
    if (!sameHardState(hs, this.prevHard)) return true;
    const u = r.log.unstable;
    return (
      u.snapshot !== undefined ||
      u.entries.length > 0 ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    if (this.outstanding) throw new Error('ready() called before advance() of the previous Ready');
    const r = this.raft;
    r.flushAppends();
    const u = r.log.unstable;
    const rd: Ready = {
      entries: u.entries.slice(),
      committedEntries: this.handOutCommitted(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    if (u.snapshot) rd.snapshot = u.snapshot;
    const soft = this.softState();
    if (soft.role !== this.prevSoft.role || soft.leaderId !== this.prevSoft.leaderId) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    const hs = r.hardState();
    this.termBeforeOutstanding = this.prevHard.term;
    if (!sameHardState(hs, this.prevHard)) {
      rd.hardState = hs;
      rd.mustSync = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
      this.prevHard = hs;
    }
    rd.mustSync = rd.mustSync || rd.entries.length > 0 || rd.snapshot !== undefined;
    r.msgs = [];
    r.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * While the write of the outstanding Ready is in flight, the driver may keep ticking
   * and stepping (messages of the node's term) and send at once what this returns:
   * - a leader: everything it produced (heartbeats, appends, snapshot chunks). None of
   *   it depends on the write, since the leader counts itself only after advance().
   * - a follower: its answers to heartbeats, when the Ready being written does not
   *   change its term. They promise nothing about its log (acknowledgements of
   *   entries wait for the write), only that it still follows this leader.
   * A slow disk then neither silences a leader for its followers' election timeout
   * nor makes a leader fail check-quorum because its followers are busy writing.
   * Everything else waits for the next Ready.
   */
  takeEarlyMessages(): Message[] {
    const r = this.raft;
    if (!this.outstanding) return [];
    if (r.role === 'leader') {
      r.flushAppends();
      const msgs = r.msgs;
      r.msgs = [];
      return msgs;
    }
    if (r.role !== 'follower' || r.term !== this.termBeforeOutstanding || r.msgs.length === 0) return [];
    const early: Message[] = [];
    const rest: Message[] = [];
    for (const m of r.msgs) (m.type === 'heartbeatResp' ? early : rest).push(m);
    if (early.length > 0) r.msgs = rest;
    return early;
  }

  /**
   * A leader whose own write of the outstanding Ready is in flight: the entries
   * committed since that Ready was handed out, to apply now. A quorum of followers made
   * them durable without this node's disk (the leader counts itself only once its write
   * is done), so they are committed like any other, and a slow disk on the leader no
   * longer holds back what its followers already made safe. The driver applies them after
   * the outstanding Ready's own committed entries; they are handed out once (the next
   * Ready starts after them) and count as applied at advance(). Not while a snapshot is
   * being written, and empty on a follower (which applies only what it wrote).
   */
  takeCommittedWhileWriting(): Entry[] {
    const rd = this.outstanding;
    if (!rd || rd.snapshot || this.raft.role !== 'leader') return [];
    return this.handOutCommitted();
  }

  private handOutCommitted(): Entry[] {
    const log = this.raft.log;
    const ents = log.nextCommittedEntries(this.raft.config.maxCommittedBytesPerReady);
    if (ents.length > 0) log.applying = ents[ents.length - 1].index;
    return ents;
  }

  /** The driver persisted, sent and applied `rd` (and what takeCommittedWhileWriting
   *  handed out meanwhile). */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error('advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const log = this.raft.log;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > log.applied) log.applied = rd.snapshot.meta.index;
      if (log.applied > log.applying) log.applying = log.applied;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      log.stableTo(last.index, last.term);
    }
    if (log.applying > log.applied) log.appliedTo(log.applying);
    this.raft.onPersisted();
  }

  status(): RaftStatus {
    const r = this.raft;
    const st: RaftStatus = {
      id: r.id,
      term: r.term,
      role: r.role,
      leaderId: r.leaderId,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
    };
    if (r.role === 'leader') {
      st.progress = {};
      for (const [id, pr] of r.tracker.progress) {
        st.progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive };
      }
    }
    return st;
  }

  private softState(): SoftState {
    return { leaderId: this.raft.leaderId, role: this.raft.role };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
