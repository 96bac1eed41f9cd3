import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { Entry, Message, NodeId, RaftConfig, Ready, Role, Snapshot } from '../../src/raft/types.js';
import { SeededRng } from './rng.js';

/**
 * Deterministic simulation of a Raft cluster (FoundationDB / VOPR style): one seeded
 * RNG drives the network (drops, delays, duplicates, reordering, partitions), the
 * disk (write latency, crashes that lose unpersisted writes), clients (proposals,
 * ReadIndex, leader transfers) and compaction. The invariants are checked after
 * every step; a failure names the seed that replays it exactly.
 */

export interface SimOptions {
  seed: number;
  /** Forces the cluster size; otherwise the seed picks 3 or 5. */
  nodes?: 3 | 5;
  /** Ticks of the fault phase. */
  faultTicks?: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  profile: string;
  ticks: number;
  acked: number;
  reads: number;
  elections: number;
  crashes: number;
  snapshotsInstalled: number;
  /** Entries a leader applied while its own write of them was in flight. */
  appliedWhileWriting: number;
  /** After healing: ticks until a leader, and until every node applied everything acknowledged. */
  ticksToLeader: number;
  ticksToConverge: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly nodes: number,
    readonly forcedNodes: boolean,
    readonly violation: string,
    readonly trace: string[],
    readonly faultTicks: number,
  ) {
    super(
      `simulation seed ${seed} (${nodes} nodes) failed: ${violation}\n` +
        `replay: ${replayCommand(seed, forcedNodes ? nodes : undefined, faultTicks)}\n` +
        `last events:\n  ${trace.join('\n  ')}`,
    );
    this.name = 'SimulationFailure';
  }
}

/** The exact command that replays one seed. */
export function replayCommand(seed: number, nodes: number | undefined, faultTicks: number): string {
  if (faultTicks === DEFAULT_FAULT_TICKS) return `make sim START=${seed} SEEDS=1${nodes ? ` NODES_SIM=${nodes}` : ''}`;
  return `node --import tsx scripts/sim.ts --seeds 1 --start ${seed} --ticks ${faultTicks}${nodes ? ` --nodes ${nodes}` : ''}`;
}

interface Profile {
  name: string;
  drop: number;
  duplicate: number;
  maxDelay: number;
  partitionEvery: number; // mean ticks between partition changes (0 = never)
  crashEvery: number; // mean ticks between crashes (0 = never)
  maxWriteDelay: number;
}

const PROFILES: Profile[] = [
  { name: 'calm', drop: 0, duplicate: 0, maxDelay: 2, partitionEvery: 0, crashEvery: 60, maxWriteDelay: 1 },
  { name: 'lossy', drop: 0.1, duplicate: 0.05, maxDelay: 6, partitionEvery: 0, crashEvery: 40, maxWriteDelay: 2 },
  { name: 'partitions', drop: 0.02, duplicate: 0.02, maxDelay: 4, partitionEvery: 25, crashEvery: 50, maxWriteDelay: 2 },
  { name: 'chaos', drop: 0.2, duplicate: 0.1, maxDelay: 12, partitionEvery: 15, crashEvery: 20, maxWriteDelay: 4 },
  { name: 'crashy', drop: 0.05, duplicate: 0.02, maxDelay: 3, partitionEvery: 40, crashEvery: 8, maxWriteDelay: 3 },
];

const UNITS_PER_TICK = 4;
const ELECTION_TICKS = 10;
/** Ticks of the fault phase unless told otherwise; `make sim` and the jest run agree on it
 *  so that a failing seed replays with the printed command. */
export const DEFAULT_FAULT_TICKS = 300;

interface InFlight {
  at: number;
  seq: number;
  msg: Message;
}

/** The application: a hash chain over applied entries (index, hash). */
interface AppState {
  index: number;
  hash: number;
}

function fnv(h: number, data: Uint8Array, term: number): number {
  let x = (h ^ term) >>> 0;
  for (let i = 0; i < data.length; i++) {
    x ^= data[i];
    x = Math.imul(x, 16777619) >>> 0;
  }
  x ^= data.length;
  return Math.imul(x, 16777619) >>> 0;
}

function encodeState(s: AppState): Uint8Array {
  // Padded so that snapshots span several chunks.
  const text = `${s.index}:${s.hash}:`.padEnd(96, '.');
  return new TextEncoder().encode(text);
}

function decodeState(data: Uint8Array): AppState {
  if (data.length === 0) return { index: 0, hash: 0 };
  const [index, hash] = new TextDecoder().decode(data).split(':');
  return { index: Number(index), hash: Number(hash) };
}

class SimNode {
  raw!: RawNode;
  up = true;
  role: Role = 'follower';
  app: AppState = { index: 0, hash: 0 };
  /** Hash of the app state at recent indexes, for compaction at an older index. */
  hashAt = new Map<number, number>();
  write: { rd: Ready; doneAt: number; sentEarly: boolean } | undefined;
  /** Probability of missing a tick (a slow clock). */
  tickSkip = 0;

  constructor(
    readonly id: NodeId,
    readonly store: MemoryLogStore,
    readonly config: RaftConfig,
  ) {
    this.boot();
  }

  boot(): void {
    this.raw = new RawNode(this.config, this.store);
    this.role = 'follower';
    this.write = undefined;
    const snap = this.store.snapshot();
    this.app = snap.meta.index === 0 ? { index: 0, hash: 0 } : decodeState(snap.data);
    this.hashAt = new Map([[this.app.index, this.app.hash]]);
  }
}

export class Simulation {
  private readonly rng: SeededRng;
  readonly nodes: SimNode[] = [];
  private readonly profile: Profile;
  private readonly settings: string;
  private readonly preVote: boolean;
  private now = 0;
  private seq = 0;
  private net: InFlight[] = [];
  /** Directed links that drop everything: "a->b". */
  private blocked = new Set<string>();
  private faults = true;
  private readonly trace: string[] = [];

  // ---- what the checkers remember ----
  private leaderOfTerm = new Map<number, NodeId>();
  /** The first entry any node applied at an index: its term and data. */
  private appliedTerm: number[] = [];
  private appliedData: string[] = [];
  private appliedHash: number[] = [];
  /** Proposals acknowledged to their client (applied on the node that accepted them). */
  private acked = new Map<string, number>();
  private proposer = new Map<string, NodeId>();
  private nextProposal = 0;
  private pendingReads = new Map<string, { node: NodeId; minIndex: number }>();
  private nextRead = 0;
  private entriesSeen = new Map<string, { prevTerm: number; data: string }>();
  private storesChanged = false;
  private stats = { reads: 0, elections: 0, crashes: 0, snapshotsInstalled: 0, appliedWhileWriting: 0, ticksToLeader: 0, ticksToConverge: 0 };
  private readonly decoder = new TextDecoder();

  constructor(readonly opts: SimOptions) {
    this.rng = new SeededRng(opts.seed * 2654435761 + 1);
    const size = opts.nodes ?? (this.rng.chance(0.5) ? 3 : 5);
    this.profile = PROFILES[this.rng.int(PROFILES.length)];
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const maxInflight = 1 + this.rng.int(8);
    const maxMessageBytes = [16, 64, 1024, 1 << 20][this.rng.int(4)];
    const chunk = [16, 40, 4096][this.rng.int(3)];
    // Mostly the production settings, sometimes without pre-vote or check-quorum.
    const preVote = this.rng.chance(0.8);
    this.preVote = preVote;
    const checkQuorum = this.rng.chance(0.8);
    const applyBytes = this.rng.chance(0.3) ? 64 : undefined;
    this.settings = `${this.profile.name}${preVote ? '' : ' no-prevote'}${checkQuorum ? '' : ' no-checkquorum'} inflight=${maxInflight} msgBytes=${maxMessageBytes} chunk=${chunk}${applyBytes ? ` applyBytes=${applyBytes}` : ''}`;
    for (const id of ids) {
      const config: RaftConfig = {
        id,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 2,
        preVote,
        checkQuorum,
        maxInflightMessages: maxInflight,
        maxMessageBytes,
        snapshotChunkBytes: chunk,
        maxCommittedBytesPerReady: applyBytes,
        rng: this.rng.fork(),
      };
      this.nodes.push(new SimNode(id, new MemoryLogStore({ voters: ids }), config));
    }
    for (const n of this.nodes) n.tickSkip = [0, 0, 0.1, 0.3][this.rng.int(4)];
  }

  private fail(violation: string): never {
    throw new SimulationFailure(this.opts.seed, this.nodes.length, this.opts.nodes !== undefined, `${violation} [${this.settings}]`, this.trace.slice(-40), this.opts.faultTicks ?? DEFAULT_FAULT_TICKS);
  }

  private log(event: string): void {
    this.trace.push(`t=${this.now} ${event}`);
    if (this.trace.length > 200) this.trace.splice(0, 100);
  }

  private node(id: NodeId): SimNode {
    return this.nodes[Number(id.slice(1)) - 1];
  }

  run(): SimResult {
    const faultTicks = this.opts.faultTicks ?? DEFAULT_FAULT_TICKS;
    for (let t = 0; t < faultTicks * UNITS_PER_TICK; t++) this.step();
    this.heal();
    this.liveness();
    return {
      seed: this.opts.seed,
      nodes: this.nodes.length,
      profile: this.settings,
      ticks: Math.floor(this.now / UNITS_PER_TICK),
      acked: this.acked.size,
      reads: this.stats.reads,
      elections: this.stats.elections,
      crashes: this.stats.crashes,
      snapshotsInstalled: this.stats.snapshotsInstalled,
      appliedWhileWriting: this.stats.appliedWhileWriting,
      ticksToLeader: this.stats.ticksToLeader,
      ticksToConverge: this.stats.ticksToConverge,
    };
  }

  /** One time unit: faults, clients, network, disk, ticks; then every invariant. */
  private step(): void {
    this.now++;
    if (this.faults) this.injectFaults();
    this.clients();
    this.deliverDue();
    for (const n of this.nodes) if (n.up) this.drive(n);
    if (this.now % UNITS_PER_TICK === 0) {
      // Clocks drift: during faults a node may miss a tick now and then.
      for (const n of this.nodes) if (n.up && !(this.faults && this.rng.chance(n.tickSkip))) n.raw.tick();
      for (const n of this.nodes) if (n.up) this.drive(n);
    }
    this.checkInvariants();
  }

  // ---- faults ----

  private injectFaults(): void {
    const p = this.profile;
    const perUnit = (everyTicks: number) => (everyTicks > 0 ? 1 / (everyTicks * UNITS_PER_TICK) : 0);
    if (this.rng.chance(perUnit(p.partitionEvery))) this.changePartition();
    if (this.rng.chance(perUnit(p.crashEvery))) {
      const n = this.nodes[this.rng.int(this.nodes.length)];
      if (n.up) this.crash(n);
      else this.restart(n);
    }
    // Crashed nodes come back after a while.
    for (const n of this.nodes) if (!n.up && this.rng.chance(perUnit(15))) this.restart(n);
    // The application snapshots and compacts now and then.
    if (this.rng.chance(0.02)) {
      const n = this.nodes[this.rng.int(this.nodes.length)];
      if (n.up) this.compact(n);
    }
  }

  private changePartition(): void {
    this.blocked.clear();
    const ids = this.nodes.map((n) => n.id);
    const kind = this.rng.int(4);
    if (kind === 0) {
      this.log('partition healed');
      return;
    }
    if (kind === 1 || kind === 2) {
      // Symmetric split into two sides (kind 2 isolates a single node).
      const side = new Set<NodeId>();
      if (kind === 2) side.add(ids[this.rng.int(ids.length)]);
      else for (const id of ids) if (this.rng.chance(0.5)) side.add(id);
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}->${b}`);
      this.log(`partition {${[...side].join(',')}} | rest`);
    } else {
      // Asymmetric: some directed links drop everything.
      for (const a of ids) for (const b of ids) if (a !== b && this.rng.chance(0.25)) this.blocked.add(`${a}->${b}`);
      this.log(`asymmetric partition ${[...this.blocked].join(' ')}`);
    }
  }

  private crash(n: SimNode): void {
    // Everything not yet persisted is lost: the in-flight write and the process state.
    n.up = false;
    n.write = undefined;
    this.stats.crashes++;
    this.log(`crash ${n.id}`);
  }

  private restart(n: SimNode): void {
    n.up = true;
    n.boot();
    this.log(`restart ${n.id} (term ${n.raw.status().term}, commit ${n.raw.status().commit}, snapshot ${n.app.index})`);
  }

  private compact(n: SimNode): void {
    // Keep a random tail so that some followers need a snapshot and some do not.
    const keep = this.rng.int(6);
    const index = n.app.index - keep;
    const hash = n.hashAt.get(index);
    if (index <= n.store.snapshot().meta.index || hash === undefined) return;
    if (index > n.store.lastIndex()) return;
    const snap: Snapshot = {
      meta: { index, term: n.store.term(index), conf: n.raw.raft.confState() },
      data: encodeState({ index, hash }),
    };
    // Sometimes keep a margin of entries below the snapshot, as the node does.
    const keepFrom = this.rng.chance(0.5) ? index + 1 - this.rng.int(4) : undefined;
    n.store.compact(snap, keepFrom);
    this.storesChanged = true;
    this.log(`${n.id} compacted to ${index}`);
  }

  private heal(): void {
    this.faults = false;
    this.blocked.clear();
    for (const n of this.nodes) if (!n.up) this.restart(n);
    // Late duplicates and long delays of the fault phase may still arrive: that is fine.
    this.log('healed');
  }

  // ---- clients ----

  private clients(): void {
    if (!this.rng.chance(this.faults ? 0.15 : 0.05)) return;
    const n = this.nodes[this.rng.int(this.nodes.length)];
    if (!n.up) return;
    const r = this.rng.next();
    if (r < 0.7) {
      const count = this.rng.chance(0.3) ? 1 + this.rng.int(8) : 1;
      const ids: string[] = [];
      const datas: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const id = `p${this.nextProposal++}`;
        ids.push(id);
        datas.push(new TextEncoder().encode(id.padEnd(4 + this.rng.int(24), '#')));
      }
      if (n.raw.proposeMany(datas)) for (const id of ids) this.proposer.set(id, n.id);
    } else if (r < 0.9) {
      const ctx = `r${this.nextRead++}`;
      // A linearizable read must see every write acknowledged before it started.
      let minIndex = 0;
      for (const idx of this.acked.values()) minIndex = Math.max(minIndex, idx);
      if (n.raw.readIndex(new TextEncoder().encode(ctx))) this.pendingReads.set(ctx, { node: n.id, minIndex });
    } else if (this.faults) {
      const to = this.nodes[this.rng.int(this.nodes.length)].id;
      if (n.raw.transferLeader(to)) this.log(`transfer leadership ${n.id} -> ${to}`);
    }
  }

  // ---- network ----

  private send(m: Message): void {
    const p = this.faults ? this.profile : { ...this.profile, drop: 0, duplicate: 0, maxDelay: 2 };
    if (this.blocked.has(`${m.from}->${m.to}`)) return;
    if (this.rng.chance(p.drop)) return;
    const copies = this.rng.chance(p.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.net.push({ at: this.now + 1 + this.rng.int(p.maxDelay), seq: this.seq++, msg: m });
    }
  }

  private deliverDue(): void {
    const due: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.net) (f.at <= this.now ? due : rest).push(f);
    this.net = rest;
    // Same-time messages in a random order: reordering beyond what delays already give.
    for (let i = due.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [due[i], due[j]] = [due[j], due[i]];
    }
    for (const f of due) {
      const n = this.node(f.msg.to);
      if (!n.up || this.blocked.has(`${f.msg.from}->${f.msg.to}`)) continue;
      n.raw.step(f.msg);
    }
  }

  // ---- the driver, as src/node does it ----

  private drive(n: SimNode): void {
    for (let guard = 0; guard < 100; guard++) {
      if (n.write) {
        if (n.write.doneAt > this.now) {
          // A node waiting on its disk sends what may go early (RawNode.takeEarlyMessages),
          // and a leader applies what its followers committed meanwhile, after the
          // committed entries of the Ready being written.
          for (const m of n.raw.takeEarlyMessages()) this.send(m);
          const committed = n.raw.takeCommittedWhileWriting();
          if (committed.length > 0) {
            for (const e of n.write.rd.committedEntries) if (e.index > n.app.index) this.apply(n, e);
            for (const e of committed) this.apply(n, e);
            this.stats.appliedWhileWriting += committed.length;
          }
          return;
        }
        this.completeWrite(n);
      }
      if (!n.raw.hasReady()) return;
      const rd = n.raw.ready();
      if (rd.softState) {
        if (rd.softState.role === 'leader' && n.role !== 'leader') {
          this.stats.elections++;
          this.log(`${n.id} leader of term ${n.raw.status().term}`);
          this.checkLeaderCompleteness(n);
        }
        n.role = rd.softState.role;
      }
      if (rd.entries.length > 0) this.checkNewEntries(n, rd.entries);
      // The leader sends while its own write is in flight; everyone else after it.
      const sentEarly = n.role === 'leader';
      if (sentEarly) for (const m of rd.messages) this.send(m);
      const delay = this.faults ? this.rng.int(this.profile.maxWriteDelay + 1) : 0;
      n.write = { rd, doneAt: this.now + delay, sentEarly };
    }
  }

  private completeWrite(n: SimNode): void {
    const { rd, sentEarly } = n.write!;
    n.write = undefined;
    if (rd.hardState) {
      // On disk, a term never goes back and a vote cast in a term is never changed.
      const before = n.store.initialState().hardState;
      const after = rd.hardState;
      if (after.term < before.term) this.fail(`${n.id} persisted term ${after.term} after ${before.term}`);
      if (after.term === before.term && before.vote !== '' && after.vote !== before.vote) {
        this.fail(`${n.id} changed its vote in term ${after.term} from ${before.vote} to ${after.vote}`);
      }
    }
    n.store.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
    if (rd.entries.length > 0 || rd.snapshot) this.storesChanged = true;
    if (!sentEarly) for (const m of rd.messages) this.send(m);
    if (rd.snapshot) this.installSnapshot(n, rd.snapshot);
    for (const e of rd.committedEntries) if (e.index > n.app.index) this.apply(n, e);
    for (const rs of rd.readStates) {
      const ctx = this.decoder.decode(rs.context);
      const pending = this.pendingReads.get(ctx);
      if (!pending) this.fail(`${n.id} answered unknown read ${ctx}`);
      if (pending.node !== n.id) this.fail(`read ${ctx} answered by ${n.id}, asked on ${pending.node}`);
      if (rs.index < pending.minIndex) {
        this.fail(`stale read ${ctx}: read index ${rs.index} < acknowledged write at ${pending.minIndex}`);
      }
      this.pendingReads.delete(ctx);
      this.stats.reads++;
    }
    n.raw.advance(rd);
  }

  private installSnapshot(n: SimNode, snap: Snapshot): void {
    const state = decodeState(snap.data);
    if (state.index !== snap.meta.index) this.fail(`${n.id} snapshot meta ${snap.meta.index} != state ${state.index}`);
    const known = this.appliedHash[state.index];
    if (known !== undefined && known !== state.hash) {
      this.fail(`${n.id} installed a snapshot at ${state.index} whose state differs from what was applied there`);
    }
    n.app = state;
    n.hashAt = new Map([[state.index, state.hash]]);
    this.stats.snapshotsInstalled++;
    this.log(`${n.id} installed snapshot ${state.index}`);
  }

  private apply(n: SimNode, e: Entry): void {
    if (e.index !== n.app.index + 1) this.fail(`${n.id} applied ${e.index} after ${n.app.index} (gap or repeat)`);
    const data = this.decoder.decode(e.data);
    const term = this.appliedTerm[e.index];
    if (term === undefined) {
      this.appliedTerm[e.index] = e.term;
      this.appliedData[e.index] = data;
    } else if (term !== e.term || this.appliedData[e.index] !== data) {
      this.fail(`state machine safety: ${n.id} applied (${e.term}, ${data}) at ${e.index}, another node applied (${term}, ${this.appliedData[e.index]})`);
    }
    n.app = { index: e.index, hash: fnv(n.app.hash, e.data, e.term) };
    const known = this.appliedHash[e.index];
    if (known === undefined) this.appliedHash[e.index] = n.app.hash;
    else if (known !== n.app.hash) this.fail(`${n.id} state hash at ${e.index} differs from another node's`);
    n.hashAt.set(e.index, n.app.hash);
    n.hashAt.delete(e.index - 16);
    if (data.length > 0) {
      const id = data.replace(/#+$/, '');
      if (this.proposer.get(id) === n.id && !this.acked.has(id)) this.acked.set(id, e.index);
    }
  }

  // ---- invariants ----

  private checkInvariants(): void {
    // Election safety: at most one leader per term.
    for (const n of this.nodes) {
      if (!n.up || n.raw.raft.role !== 'leader') continue;
      const term = n.raw.raft.term;
      const known = this.leaderOfTerm.get(term);
      if (known === undefined) this.leaderOfTerm.set(term, n.id);
      else if (known !== n.id) this.fail(`election safety: ${known} and ${n.id} both leaders of term ${term}`);
    }
    // Log matching is checked incrementally on every Ready (checkNewEntries); the
    // full pairwise comparison runs every few steps as a second line of defence.
    if (this.now % 8 === 0) this.checkLogMatching();
    // Durability can only break when a disk changes.
    if (this.storesChanged) {
      this.storesChanged = false;
      this.checkDurability();
    }
  }

  /** Every acknowledged entry is on the disk of a majority (in its log or under its snapshot). */
  private checkDurability(): void {
    const quorum = Math.floor(this.nodes.length / 2) + 1;
    for (const [id, index] of this.acked) {
      let copies = 0;
      for (const n of this.nodes) {
        const store = n.store;
        if (store.snapshot().meta.index >= index) copies++;
        else if (index <= store.lastIndex() && store.term(index) === this.appliedTerm[index]) copies++;
      }
      if (copies < quorum) this.fail(`durability: acknowledged ${id} at ${index} is on ${copies} disks`);
    }
  }

  /**
   * Log matching, incrementally: every (index, term) that appears in any log must
   * always come with the same data and the same term at index-1. By induction this
   * gives the whole property (same index and term => identical prefixes).
   */
  private checkNewEntries(n: SimNode, ents: Entry[]): void {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i];
      const prevTerm = i > 0 ? ents[i - 1].term : n.raw.raft.log.term(e.index - 1);
      if (prevTerm === undefined) this.fail(`${n.id} appended ${e.index} without knowing the term of ${e.index - 1}`);
      const key = `${e.index}:${e.term}`;
      const data = this.decoder.decode(e.data);
      const seen = this.entriesSeen.get(key);
      if (!seen) this.entriesSeen.set(key, { prevTerm, data });
      else if (seen.prevTerm !== prevTerm || seen.data !== data) {
        this.fail(`log matching: ${n.id} has entry (${e.index}, term ${e.term}) with prev term ${prevTerm} and data ${data}; another log had prev term ${seen.prevTerm} and data ${seen.data}`);
      }
    }
  }

  /** Leader completeness: a new leader holds every entry any node has applied. */
  private checkLeaderCompleteness(n: SimNode): void {
    const log = n.raw.raft.log;
    const from = Math.max(1, log.firstIndex());
    for (let i = from; i < this.appliedTerm.length; i++) {
      const t = this.appliedTerm[i];
      if (t === undefined) continue;
      const ours = log.term(i);
      if (ours !== t) {
        this.fail(`leader completeness: new leader ${n.id} (term ${n.raw.raft.term}) has term ${ours} at committed index ${i} (term ${t})`);
      }
    }
  }

  /** Log matching: where two logs agree on (index, term) they agree on everything before. */
  private checkLogMatching(): void {
    const live = this.nodes.filter((n) => n.up);
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const la = live[a].raw.raft.log;
        const lb = live[b].raw.raft.log;
        const lo = Math.max(la.firstIndex(), lb.firstIndex());
        let hi = Math.min(la.lastIndex(), lb.lastIndex());
        while (hi >= lo && la.term(hi) !== lb.term(hi)) hi--;
        if (hi < lo) continue;
        const ea = la.slice(lo, hi + 1);
        const eb = lb.slice(lo, hi + 1);
        for (let i = 0; i < ea.length; i++) {
          const x = ea[i];
          const y = eb[i];
          if (x.term !== y.term || !sameBytes(x.data, y.data)) {
            this.fail(`log matching: ${live[a].id} and ${live[b].id} agree at ${hi} but differ at ${x.index}`);
          }
        }
      }
    }
  }

  // ---- liveness after healing ----

  private liveness(): void {
    // Bounds: a leader within 20 election timeouts, everything applied 20 later. Without
    // pre-vote, candidates with stale logs keep bumping the term and resetting the timer
    // of the one node that can win, so each round succeeds only with some probability
    // (seen: up to 9 rounds in 12,000 seeds); the bound is 60 timeouts there.
    const leaderTicks = (this.preVote ? 20 : 60) * ELECTION_TICKS;
    const maxTicks = leaderTicks + 20 * ELECTION_TICKS;
    const start = this.now;
    const deadline = () => this.now - start > maxTicks * UNITS_PER_TICK;
    let leader: SimNode | undefined;
    while (!leader) {
      if (this.now - start > leaderTicks * UNITS_PER_TICK) this.fail(`liveness: no leader ${leaderTicks} ticks after healing`);
      this.step();
      leader = this.nodes.find((n) => n.up && n.role === 'leader' && n.raw.raft.role === 'leader');
    }
    this.stats.ticksToLeader = Math.ceil((this.now - start) / UNITS_PER_TICK);
    // A fresh proposal must commit and reach every node; re-proposed (under a new id)
    // whenever the node that accepted it loses leadership before it commits.
    let markerId = '';
    let markerNode: SimNode | undefined;
    for (;;) {
      if (deadline()) {
        const st = this.nodes.map((n) => `${n.id}:${n.raw.raft.role}/t${n.raw.raft.term}/c${n.raw.raft.log.committed}/a${n.app.index}/l${n.raw.raft.log.lastIndex()}`);
        this.fail(`liveness: not converged ${maxTicks} ticks after healing (${st.join(' ')})`);
      }
      const markerAcked = markerId !== '' && this.acked.has(markerId);
      if (!markerAcked && (!markerNode || markerNode.raw.raft.role !== 'leader')) {
        const current = this.nodes.find((n) => n.up && n.raw.raft.role === 'leader');
        markerNode = undefined;
        if (current) {
          const id = `p${this.nextProposal++}`;
          if (current.raw.propose(new TextEncoder().encode(id))) {
            this.proposer.set(id, current.id);
            markerId = id;
            markerNode = current;
          }
        }
      }
      this.step();
      if (markerId !== '' && this.acked.has(markerId) && this.converged()) break;
    }
    this.stats.ticksToConverge = Math.ceil((this.now - start) / UNITS_PER_TICK);
    this.checkLogMatching();
  }

  private converged(): boolean {
    let maxAcked = 0;
    for (const idx of this.acked.values()) maxAcked = Math.max(maxAcked, idx);
    return this.nodes.every((n) => n.up && n.app.index >= maxAcked && !n.write);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs one seed; throws SimulationFailure (with the replay command) on a violated
 *  invariant or on any exception the core throws. */
export function runSeed(opts: SimOptions): SimResult {
  const sim = new Simulation(opts);
  try {
    return sim.run();
  } catch (err) {
    if (err instanceof SimulationFailure) throw err;
    throw new SimulationFailure(
      opts.seed,
      sim.nodes.length,
      opts.nodes !== undefined,
      `exception: ${(err as Error).stack ?? String(err)}`,
      [],
      opts.faultTicks ?? DEFAULT_FAULT_TICKS,
    );
  }
}
