import type {
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  NodeId,
  RaftConfig,
  ReadState,
  Role,
  Snapshot,
  SnapshotChunk,
} from './types.js';
import { SnapshotGoneError, type LogStore } from './storage/log-store.js';
import { RaftLog } from './log.js';
import { ProgressTracker } from './tracker.js';
import { ReadOnly } from './read-only.js';
import { contextKey, EMPTY_BYTES, message } from './util.js';
import { memorySpool, nextChunk, SnapshotReceiver, startStream } from './snapshot-transfer.js';

/** Context of a vote request caused by leader transfer: it may disturb a leader's lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');
const CAMPAIGN_TRANSFER_KEY = contextKey(CAMPAIGN_TRANSFER);


/**
 * The Raft state machine of one node: roles, elections, replication, commitment,
 * snapshots, ReadIndex and leader transfer. Pure and synchronous; the outside world
 * sees it through RawNode's Ready/advance.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = '';
  role: Role = 'follower';
  leaderId: NodeId = '';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly = new ReadOnly();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReads: Uint8Array[] = [];
  leadTransferee: NodeId = '';

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  /** Leader: proposals were appended since the last broadcast (one append per follower
   *  per Ready). A commit index that moved alone is not broadcast: it rides the next
   *  append or heartbeat, which halves the messages of a lone write (followers need the
   *  commit index only to apply; clients are answered by the leader). */
  private appendPending = false;
  private readonly snapshotReceiver: SnapshotReceiver;

  constructor(readonly config: RaftConfig, store: LogStore) {
    if (config.heartbeatTicks <= 0 || config.electionTicks <= config.heartbeatTicks) {
      throw new Error('electionTicks must be greater than heartbeatTicks > 0');
    }
    this.id = config.id;
    this.electionTimeout = config.electionTicks;
    this.heartbeatTimeout = config.heartbeatTicks;
    this.log = new RaftLog(store);
    this.snapshotReceiver = new SnapshotReceiver(store.snapshotSpool ? (meta, total) => store.snapshotSpool!(meta, total) : memorySpool);
    const { hardState, conf } = store.initialState();
    this.tracker = new ProgressTracker(conf, Math.max(1, config.maxInflightMessages));
    if (hardState.term > 0 || hardState.vote !== '' || hardState.commit > 0) {
      this.term = hardState.term;
      this.vote = hardState.vote;
      this.log.commitTo(Math.max(hardState.commit, this.log.committed));
    }
    this.becomeFollower(this.term, '');
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  confState(): ConfState {
    return this.tracker.confState();
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  // ---- roles ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.leaderId = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.config.rng.int(this.electionTimeout);
    this.leadTransferee = '';
    this.appendPending = false;
    this.tracker.resetVotes();
    this.tracker.progress.clear();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    this.readOnly.reset();
    this.pendingReads = [];
  }

  becomeFollower(term: number, leaderId: NodeId): void {
    this.reset(term);
    this.leaderId = leaderId;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('leader cannot become pre-candidate');
    // Term and vote stay: a pre-vote changes nothing durable.
    this.tracker.resetVotes();
    this.leaderId = '';
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    if (this.role === 'follower') throw new Error('follower cannot become leader');
    this.reset(this.term);
    this.leaderId = this.id;
    this.role = 'leader';
    for (const pr of this.tracker.progress.values()) pr.recentActive = true;
    const self = this.tracker.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      // Counted in the quorum only for what is on disk; advance() moves this on.
      self.match = this.log.persistedIndex();
      self.next = this.log.lastIndex() + 1;
    }
    // The no-op of the new term: committing it commits everything before (Figure 8).
    this.appendEntries([{ term: this.term, index: 0, type: 'normal', data: EMPTY_BYTES }]);
  }

  // ---- ticks ----

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.tracker.quorumActive(this.id)) {
          // Check-quorum: a leader cut off from its majority steps down.
          this.becomeFollower(this.term, '');
          return;
        }
        for (const [id, pr] of this.tracker.progress) pr.recentActive = id === this.id;
      }
      if (this.leadTransferee !== '') this.leadTransferee = ''; // transfer timed out
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPendingContext());
    }
  }

  // ---- elections ----

  /** Starts an election (or a pre-vote) unless this node is leader or not a voter. */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.config.preVote && !transfer) this.campaign('preVote', false);
    else this.campaign('vote', transfer);
  }

  private campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    let term: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      term = this.term + 1; // the term we would campaign in; nothing changes until we win
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes() === 'won') {
      // A single-voter cluster wins at once.
      if (kind === 'preVote') this.campaign('vote', false);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.config.voters) {
      if (id === this.id) continue;
      this.send(
        message(kind, this.id, id, term, {
          index: lastIndex,
          logTerm: lastTerm,
          context: transfer ? CAMPAIGN_TRANSFER : EMPTY_BYTES,
        }),
      );
    }
  }

  private poll(from: NodeId, granted: boolean): void {
    this.tracker.recordVote(from, granted);
    const result = this.tracker.tallyVotes();
    if (result === 'won') {
      if (this.role === 'preCandidate') this.campaign('vote', false);
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === 'lost') {
      this.becomeFollower(this.term, '');
    }
  }

  // ---- messages ----

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const force = contextKey(m.context) === CAMPAIGN_TRANSFER_KEY;
        const inLease =
          this.config.checkQuorum && this.leaderId !== '' && this.electionElapsed < this.electionTimeout;
        // A node that recently heard from a leader ignores campaigns: a partitioned
        // node rejoining cannot depose a healthy leader.
        if (inLease && !force) return;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; we bump it when we win.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else if (m.type === 'vote') {
        // Figure 2 of the Raft paper: only the current leader's messages or a granted
        // vote restart the election timer. A refused vote must not, or candidates with
        // stale logs would keep postponing the one node that could win (handleVote
        // restarts it when it grants).
        const elapsed = this.electionElapsed;
        const timeout = this.randomizedElectionTimeout;
        this.becomeFollower(m.term, '');
        this.electionElapsed = elapsed;
        this.randomizedElectionTimeout = timeout;
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // Tell a stale leader about the newer term, so it steps down instead of
        // keeping a partitioned node pre-voting forever.
        this.send(message('appendResp', this.id, m.from, this.term));
      } else if (m.type === 'preVote') {
        this.send(message('preVoteResp', this.id, m.from, this.term, { reject: true }));
      }
      return;
    }

    switch (m.type) {
      case 'preVote':
      case 'vote':
        this.handleVote(m);
        return;
    }

    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  private handleVote(m: Message): void {
    const respType: MessageType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === '' && this.leaderId === '') ||
      (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers with the candidate's future term, so it counts.
      this.send(message(respType, this.id, m.from, m.term));
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(message(respType, this.id, m.from, this.term, { reject: true }));
    }
  }

  private stepCandidate(m: Message): void {
    const myResp: MessageType = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshotChunk(m);
        return;
      default:
        if (m.type === myResp) this.poll(m.from, !m.reject);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        // Leader transfer: campaign at once, skipping pre-vote and the lease.
        this.hup(true);
        return;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m);
        return;
      case 'snapshotResp':
        this.handleSnapshotResp(m);
        return;
    }
  }

  // ---- follower side of replication ----

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(message('appendResp', this.id, m.from, this.term, { index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send(message('appendResp', this.id, m.from, this.term, { index: lastNew }));
      return;
    }
    // Fast backtracking: point the leader at the last entry that can possibly match,
    // skipping every entry of a term newer than the leader's entry at m.index.
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(
      message('appendResp', this.id, m.from, this.term, {
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        hintTerm,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    const last = this.log.lastIndex();
    this.log.commitTo(Math.min(m.commit, last));
    // The leader only names a commit index this node acknowledged holding: a log that
    // ends below it lost entries (the data dir was wiped or replaced). Saying where it
    // ends lets the leader send them again; otherwise it would wait for a rejected
    // append, and never send below the match it remembers.
    const lost = m.commit > last;
    this.send(message('heartbeatResp', this.id, m.from, this.term, lost ? { context: m.context, reject: true, rejectHint: last } : { context: m.context }));
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshot;
    if (!chunk) return;
    if (chunk.meta.index <= this.log.committed) {
      // We already have everything it covers (perhaps our answer to the last chunk was
      // lost): say so instead of taking the stream again.
      this.snapshotReceiver.reset();
      this.send(message('appendResp', this.id, m.from, this.term, { index: this.log.committed }));
      return;
    }
    const outcome = this.snapshotReceiver.accept(m.from, m.term, chunk);
    if (outcome.kind === 'progress') {
      this.send(message('snapshotResp', this.id, m.from, this.term, { index: outcome.received }));
      return;
    }
    if (outcome.kind === 'resend') {
      this.send(message('snapshotResp', this.id, m.from, this.term, { reject: true, index: outcome.from }));
      return;
    }
    const snapshot = outcome.snapshot;
    if (this.restore(snapshot)) {
      this.send(message('appendResp', this.id, m.from, this.term, { index: this.log.lastIndex() }));
    } else {
      this.send(message('appendResp', this.id, m.from, this.term, { index: this.log.committed }));
    }
  }

  /** Installs a snapshot from the leader; false when it brings nothing new. */
  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have that entry: just move commit forward.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.tracker.applyConf(s.meta.conf, this.log.lastIndex() + 1);
    return true;
  }

  // ---- leader side of replication ----

  /** Leader: appends client data as one batch. */
  appendEntries(ents: Entry[]): void {
    let index = this.log.lastIndex();
    for (const e of ents) {
      e.term = this.term;
      e.index = ++index;
    }
    this.log.append(ents);
    this.appendPending = true;
  }

  /** Sends what was appended since the last flush: one append per follower. */
  flushAppends(): void {
    if (this.appendPending && this.role === 'leader') {
      this.appendPending = false;
      this.bcastAppend();
    }
  }

  /** The driver persisted entries up to (index, term): the leader may now count itself. */
  onPersisted(): void {
    if (this.role !== 'leader') return;
    const self = this.tracker.progress.get(this.id);
    if (!self) return;
    const persisted = Math.min(this.log.persistedIndex(), this.log.lastIndex());
    if (self.maybeUpdate(persisted)) this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const committed = this.log.maybeCommit(this.tracker.committed(), this.term);
    if (committed) this.onCommittedInTerm();
    return committed;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Serves the ReadIndex requests that waited for the first commit of this term. */
  private onCommittedInTerm(): void {
    if (this.pendingReads.length === 0) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const ctx of reads) this.readIndex(ctx);
  }

  /** Sends every follower what it lacks: one message normally; more only when the
   *  backlog exceeds maxMessageBytes, and never past the inflight window. */
  bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) {
      if (id === this.id) continue;
      if (!this.sendAppend(id, true)) continue;
      while (this.sendAppend(id, false)) {
        /* fill the window */
      }
    }
  }

  /** Sends an append (or starts a snapshot) to `to` unless its progress is paused. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to)!;
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = prevTerm === undefined ? undefined : this.log.entriesFrom(pr.next, this.config.maxMessageBytes);
    if (prevTerm === undefined || ents === undefined) return this.sendSnapshot(to);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(
      message('append', this.id, to, this.term, {
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.log.committed,
      }),
    );
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1].index : prevIndex);
    return true;
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.tracker.progress.get(to)!;
    if (!pr.recentActive) return false;
    const source = this.log.snapshotSource();
    if (source.meta.index === 0) throw new Error('need a snapshot but none was taken');
    pr.becomeSnapshot(startStream(source));
    this.sendSnapshotChunk(to);
    return true;
  }

  private sendSnapshotChunk(to: NodeId): void {
    const pr = this.tracker.progress.get(to);
    const stream = pr?.snapshotStream;
    if (!pr || !stream) return;
    let chunk: SnapshotChunk;
    try {
      chunk = nextChunk(stream, this.config.snapshotChunkBytes);
    } catch (err) {
      if (!(err instanceof SnapshotGoneError)) throw err;
      // A newer snapshot replaced the image mid-stream: stream that one from the start
      // (the follower drops a partial stream when a chunk of another snapshot arrives).
      const fresh = startStream(this.log.snapshotSource());
      pr.becomeSnapshot(fresh);
      chunk = nextChunk(fresh, this.config.snapshotChunkBytes);
    }
    this.send(message('snapshot', this.id, to, this.term, { snapshot: chunk }));
  }

  private handleSnapshotResp(m: Message): void {
    const pr = this.tracker.progress.get(m.from)!;
    pr.recentActive = true;
    const stream = pr.snapshotStream;
    if (pr.state !== 'snapshot' || !stream) return;
    if (m.reject) {
      stream.acked = Math.min(m.index, stream.acked);
      this.sendSnapshotChunk(m.from);
    } else if (m.index > stream.acked && m.index < stream.source.totalBytes) {
      stream.acked = m.index;
      this.sendSnapshotChunk(m.from);
    }
  }

  private handleAppendResp(m: Message): void {
    const pr = this.tracker.progress.get(m.from)!;
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.hintTerm > 0) [nextProbe] = this.log.findConflictByTerm(m.rejectHint, m.hintTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    this.maybeCommit(); // the new commit index rides the next append or heartbeat
    // Fill the window while there is more to send.
    while (this.sendAppend(m.from, false)) {
      /* keep streaming */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send(message('timeoutNow', this.id, m.from, this.term));
    }
  }

  private handleHeartbeatResp(m: Message): void {
    const pr = this.tracker.progress.get(m.from)!;
    pr.recentActive = true;
    pr.probeSent = false;
    const stream = pr.snapshotStream;
    if (pr.state === 'snapshot' && stream) {
      // The follower is alive but the stream made no progress for a whole heartbeat
      // interval: the chunk (or its answer) was lost, send it again. Dead followers
      // get nothing.
      if (stream.acked === stream.ackedAtLastHeartbeat) this.sendSnapshotChunk(m.from);
      stream.ackedAtLastHeartbeat = stream.acked;
    }
    if (m.reject) pr.forgetLostEntries(m.rejectHint);
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks) return;
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    if (this.tracker.config.voteResult(votes) !== 'won') return;
    for (const rs of this.readOnly.advance(m.context)) this.readStates.push(rs);
  }

  private bcastHeartbeat(context: Uint8Array | undefined): void {
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      this.send(
        message('heartbeat', this.id, id, this.term, {
          // Never tell a follower to commit past what it is known to have.
          commit: Math.min(pr.match, this.log.committed),
          context: context ?? EMPTY_BYTES,
        }),
      );
    }
  }

  // ---- ReadIndex and leader transfer ----

  /** Leader: starts a ReadIndex round. False when this node cannot serve it. */
  readIndex(context: Uint8Array): boolean {
    if (this.role !== 'leader') return false;
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the real one until our no-op commits.
      this.pendingReads.push(context);
      return true;
    }
    const index = this.log.committed;
    if (this.tracker.config.voters.length === 1 && this.tracker.isVoter(this.id)) {
      this.readStates.push({ index, context });
      return true;
    }
    this.readOnly.addRequest(index, context);
    this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeat(context);
    return true;
  }

  transferLeader(to: NodeId): boolean {
    if (this.role !== 'leader' || to === this.id || !this.tracker.isVoter(to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.tracker.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send(message('timeoutNow', this.id, to, this.term));
    else this.sendAppend(to, true);
    return true;
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.tracker.progress.get(id);
    if (this.role !== 'leader' || !pr) return;
    if (pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.tracker.progress.get(id);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) {
      pr.pendingSnapshot = 0;
      pr.becomeProbe();
    }
    // On success the follower's appendResp moves it to replicate.
  }
}
