import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { Entry, Message, NodeId, RaftConfig, ReadState } from '../../src/raft/types.js';
import { SeededRng } from '../../scripts/sim/rng.js';

export interface HarnessOptions {
  ids?: NodeId[];
  seed?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxInflightMessages?: number;
  maxMessageBytes?: number;
  snapshotChunkBytes?: number;
}

/**
 * A small synchronous cluster for scenario tests: every node drives its RawNode the
 * way the real driver does (persist, send, apply, advance); messages sit in a queue
 * until deliver() and can be cut by isolating nodes or links.
 */
export class Cluster {
  readonly ids: NodeId[];
  readonly stores = new Map<NodeId, MemoryLogStore>();
  readonly nodes = new Map<NodeId, RawNode>();
  /** Entries applied since the node (re)started. */
  readonly applied = new Map<NodeId, Entry[]>();
  /** The application: the data of every non-empty entry applied, in order. */
  readonly state = new Map<NodeId, string[]>();
  readonly appliedIndex = new Map<NodeId, number>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly down = new Set<NodeId>();
  /** Directed links that drop everything: "a->b". */
  readonly cut = new Set<string>();
  queue: Message[] = [];
  /** Drops a message when it returns true (a scripted network fault). */
  dropIf: ((m: Message) => boolean) | undefined;
  /** Every message that is delivered, in order (for counting round trips). */
  delivered: Message[] = [];
  private readonly rng: SeededRng;
  readonly configFor: (id: NodeId) => RaftConfig;

  constructor(opts: HarnessOptions = {}) {
    this.ids = opts.ids ?? ['n1', 'n2', 'n3'];
    this.rng = new SeededRng(opts.seed ?? 1);
    this.configFor = (id) => ({
      id,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      maxInflightMessages: opts.maxInflightMessages ?? 64,
      maxMessageBytes: opts.maxMessageBytes ?? 1 << 20,
      snapshotChunkBytes: opts.snapshotChunkBytes ?? 1 << 16,
      rng: this.rng.fork(),
    });
    for (const id of this.ids) {
      const store = new MemoryLogStore({ voters: this.ids });
      this.stores.set(id, store);
      this.nodes.set(id, new RawNode(this.configFor(id), store));
      this.applied.set(id, []);
      this.state.set(id, []);
      this.appliedIndex.set(id, 0);
      this.readStates.set(id, []);
    }
  }

  node(id: NodeId): RawNode {
    return this.nodes.get(id)!;
  }

  /** Drains every node's Ready: persist, queue messages, apply, advance. */
  process(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (const id of this.ids) {
        if (this.down.has(id)) continue;
        const node = this.node(id);
        if (!node.hasReady()) continue;
        progress = true;
        const rd = node.ready();
        this.stores.get(id)!.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
        for (const m of rd.messages) this.queue.push(m);
        if (rd.snapshot) this.state.set(id, JSON.parse(new TextDecoder().decode(rd.snapshot.data)) as string[]);
        for (const e of rd.committedEntries) {
          this.applied.get(id)!.push(e);
          if (e.data.length > 0) this.state.get(id)!.push(new TextDecoder().decode(e.data));
        }
        if (rd.committedEntries.length > 0) this.appliedIndex.set(id, rd.committedEntries[rd.committedEntries.length - 1].index);
        if (rd.snapshot && rd.snapshot.meta.index > (this.appliedIndex.get(id) ?? 0)) this.appliedIndex.set(id, rd.snapshot.meta.index);
        for (const rs of rd.readStates) this.readStates.get(id)!.push(rs);
        node.advance(rd);
      }
    }
  }

  /** Delivers queued messages (and the ones they cause) until the network is quiet. */
  deliver(maxRounds = 1000): void {
    this.process();
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) {
        if (this.down.has(m.to) || this.cut.has(`${m.from}->${m.to}`)) continue;
        if (this.dropIf?.(m)) continue;
        this.delivered.push(m);
        this.node(m.to).step(m);
      }
      this.process();
    }
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.ids) if (!this.down.has(id)) this.node(id).tick();
      this.deliver();
    }
  }

  /** Ticks until some node is leader (and stays the only one of its term). */
  waitLeader(maxTicks = 200): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const leader = this.leader();
      if (leader) return leader;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestTerm = -1;
    for (const id of this.ids) {
      if (this.down.has(id)) continue;
      const st = this.node(id).status();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  propose(id: NodeId, text: string): boolean {
    const ok = this.node(id).propose(new TextEncoder().encode(text));
    this.deliver();
    return ok;
  }

  /** The application state of this node: the data applied, in order (no-ops left out). */
  appliedData(id: NodeId): string[] {
    return this.state.get(id)!;
  }

  /** The application snapshots its state at its applied index and compacts the log. */
  compact(id: NodeId): number {
    const index = this.appliedIndex.get(id)!;
    const store = this.stores.get(id)!;
    store.compact({
      meta: { index, term: store.term(index), conf: { voters: this.ids } },
      data: new TextEncoder().encode(JSON.stringify(this.state.get(id))),
    });
    return index;
  }

  /** Starts an election on `id` now and delivers until it settles; retries a few times. */
  elect(id: NodeId): void {
    for (let i = 0; i < 3; i++) {
      this.node(id).campaign();
      this.deliver();
      if (this.node(id).status().role === 'leader') return;
    }
    throw new Error(`${id} could not win an election`);
  }

  /** Messages of one type delivered so far. */
  count(type: Message['type'], filter: (m: Message) => boolean = () => true): number {
    return this.delivered.filter((m) => m.type === type && filter(m)).length;
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crash: drop the node and everything in flight; the store survives. */
  crash(id: NodeId): void {
    this.down.add(id);
  }

  /** The node's disk is replaced by an empty one (a wiped data dir); restart() it after. */
  wipe(id: NodeId): void {
    this.down.add(id);
    this.stores.set(id, new MemoryLogStore({ voters: this.ids }));
  }

  restart(id: NodeId): void {
    this.down.delete(id);
    const store = this.stores.get(id)!;
    this.nodes.set(id, new RawNode(this.configFor(id), store));
    this.applied.set(id, []);
    // The application restarts from the snapshot; the log replays the rest.
    const snap = store.snapshot();
    this.state.set(id, snap.meta.index > 0 ? (JSON.parse(new TextDecoder().decode(snap.data)) as string[]) : []);
    this.appliedIndex.set(id, snap.meta.index);
  }
}
