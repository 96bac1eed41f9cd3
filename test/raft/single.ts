import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { Entry, HardState, Message, NodeId, RaftConfig, Ready, Rng } from '../../src/raft/types.js';
import { message } from '../../src/raft/util.js';

/** Always the same "random" number: election timeouts become exact. */
export const fixedRng = (value = 0): Rng => ({ int: (n) => Math.min(value, n - 1) });

export interface SingleOptions {
  id?: NodeId;
  voters?: NodeId[];
  /** Terms of entries 1..n already on disk. */
  logTerms?: number[];
  hardState?: HardState;
  config?: Partial<RaftConfig>;
}

/** One RawNode under test with an in-memory disk; its peers are played by the test. */
export class Single {
  readonly store: MemoryLogStore;
  node: RawNode;
  readonly config: RaftConfig;

  constructor(opts: SingleOptions = {}) {
    const voters = opts.voters ?? ['n1', 'n2', 'n3'];
    this.store = new MemoryLogStore({ voters });
    const ents: Entry[] = (opts.logTerms ?? []).map((term, i) => ({ term, index: i + 1, type: 'normal', data: bytes(`e${i + 1}`) }));
    this.store.save({ entries: ents, hardState: opts.hardState });
    this.config = {
      id: opts.id ?? 'n1',
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      maxInflightMessages: 256,
      maxMessageBytes: 1 << 20,
      snapshotChunkBytes: 1 << 16,
      rng: fixedRng(0),
      ...opts.config,
    };
    this.node = new RawNode(this.config, this.store);
  }

  /** Handles every Ready like the driver (persist, then advance); returns what was sent. */
  drain(): { messages: Message[]; committed: Entry[]; readies: Ready[] } {
    const messages: Message[] = [];
    const committed: Entry[] = [];
    const readies: Ready[] = [];
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      readies.push(rd);
      this.store.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      messages.push(...rd.messages);
      committed.push(...rd.committedEntries);
      this.node.advance(rd);
    }
    return { messages, committed, readies };
  }

  step(type: Message['type'], from: NodeId, term: number, fields: Partial<Message> = {}): Message[] {
    this.node.step(message(type, from, this.config.id, term, fields));
    return this.drain().messages;
  }

  restart(): void {
    this.node = new RawNode(this.config, this.store);
  }

  /** Makes this node leader of `term` - 1 + 1 with votes from n2 (and drains). */
  becomeLeader(): Message[] {
    this.node.campaign();
    const { messages } = this.drain();
    const term = this.node.status().term;
    this.step('voteResp', 'n2', term);
    return messages;
  }

  logTerms(): number[] {
    const out: number[] = [];
    for (let i = this.store.firstIndex(); i <= this.store.lastIndex(); i++) out.push(this.store.term(i));
    return out;
  }
}

export const bytes = (s: string) => new TextEncoder().encode(s);

export function entry(index: number, term: number, data = `e${index}`): Entry {
  return { index, term, type: 'normal', data: bytes(data) };
}
