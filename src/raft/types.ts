// The values that cross the boundary of the pure Raft core: what the driver
// persists, sends and applies. Kept free of I/O so the core stays deterministic.

export type NodeId = string;

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** 'normal' carries application data (empty data = the leader's no-op of its term);
 *  'config' is reserved for single-server membership changes. */
export type EntryType = 'normal' | 'config';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before the node answers anything that depends on it. */
export interface HardState {
  term: number;
  /** '' when the node has not voted in `term`. */
  vote: NodeId;
  commit: number;
}

/** The cluster configuration is a value, so membership changes can replace it. */
export interface ConfState {
  voters: NodeId[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** A snapshot image read a piece at a time, so that a disk-backed store need not keep
 *  a large image in memory to stream it to a follower. */
export interface SnapshotSource {
  meta: SnapshotMeta;
  totalBytes: number;
  /** `length` bytes from `offset` (fewer at the end); throws SnapshotGoneError when the
   *  image was replaced by a newer one meanwhile. */
  read(offset: number, length: number): Uint8Array;
}

export type MessageType =
  | 'preVote'
  | 'preVoteResp'
  | 'vote'
  | 'voteResp'
  | 'append'
  | 'appendResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snapshot'
  | 'snapshotResp'
  | 'timeoutNow';

/** One chunk of an InstallSnapshot stream. */
export interface SnapshotChunk {
  meta: SnapshotMeta;
  /** Byte offset of `data` within the whole snapshot. */
  offset: number;
  totalBytes: number;
  data: Uint8Array;
  done: boolean;
}

/**
 * A flat message, like etcd's raftpb.Message, so it maps 1:1 onto proto/raft.proto.
 * Fields a type does not use are 0 / false / empty.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** append: term of the entry before `entries`; vote/preVote: candidate's last log term. */
  logTerm: number;
  /** append: index before `entries`; vote: candidate's last index;
   *  appendResp: last index matched (or rejected); snapshotResp: bytes received. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** appendResp rejection: the follower's hint for fast backtracking (a guess of the
   *  last index that might match) and the term of its entry there. */
  rejectHint: number;
  hintTerm: number;
  /** heartbeat / heartbeatResp: the ReadIndex round being confirmed (empty if none). */
  context: Uint8Array;
  snapshot?: SnapshotChunk;
}

export interface SoftState {
  leaderId: NodeId; // '' when unknown
  role: Role;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * Everything the driver must do, in this order:
 * 1. persist `hardState`, `entries` and `snapshot` in one synced write (if `mustSync`);
 *    the leader may send `messages` in parallel with that write (see `leaderMessages`
 *    semantics in RawNode), everyone else only after it;
 * 2. send `messages`;
 * 3. install `snapshot` into the state machine (if any), then apply `committedEntries`;
 * 4. serve `readStates` once applied index >= their index;
 * 5. call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
}

/** A deterministic source of randomness, injected so a seed replays a run exactly. */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
}

export interface RaftConfig {
  id: NodeId;
  /** Follower/candidate waits a random number of ticks in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Flow control: at most this many append messages in flight per follower. */
  maxInflightMessages: number;
  /** Upper bound of entry bytes in one append message. */
  maxMessageBytes: number;
  /** InstallSnapshot chunk size. */
  snapshotChunkBytes: number;
  rng: Rng;
  /** Upper bound of entry bytes in one Ready's committedEntries (always at least one
   *  entry); unlimited when absent. Bounds the work of catching up after a restart. */
  maxCommittedBytesPerReady?: number;
}

/** The leader's view of one peer, as reported by RawNode.status(). */
export interface PeerProgress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  role: Role;
  leaderId: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  /** Present only on the leader, keyed by node id (itself included). */
  progress?: Record<NodeId, PeerProgress>;
}
