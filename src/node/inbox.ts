import type { RawNode } from '../raft/raw-node.js';
import type { Message } from '../raft/types.js';

/** A tick of the Raft clock, queued among the inbound messages. */
const TICK = Symbol('tick');

type Input = Message | typeof TICK;

/**
 * The node's inputs from outside the Raft core: ticks of the clock and inbound
 * messages, in the order they happened, and when each peer was last heard from.
 * Time and messages are fed to the core in that order: after a long disk write the
 * heartbeats that arrived during it must count before the ticks that followed them,
 * or a follower would start an election (and a leader fail check-quorum) against a
 * peer it was hearing from all along.
 */
export class Inbox {
  private inputs: Input[] = [];
  private readonly lastHeard = new Map<string, number>();

  constructor(private readonly raw: RawNode) {}

  receive(msgs: Message[], now: number): void {
    for (const m of msgs) {
      this.inputs.push(m);
      this.lastHeard.set(m.from, now);
    }
  }

  tick(): void {
    this.inputs.push(TICK);
  }

  /** When `peer` was last heard from (Date.now() time), if ever. */
  lastHeardMs(peer: string): number | undefined {
    return this.lastHeard.get(peer);
  }

  /** Feeds every queued input to the core. */
  feedAll(): void {
    if (this.inputs.length > 0) {
      const inputs = this.inputs;
      this.inputs = [];
      for (const input of inputs) this.feed(input);
    }
  }

  /**
   * Feeds the inputs that may go to the core while this node's disk write is in
   * flight: ticks and messages of its term. A message of a newer term (it changes
   * term and vote, which must be written first), or a change of role, leaves the
   * rest for feedAll.
   */
  feedWhileWriting(): void {
    const raft = this.raw.raft;
    const { term, role } = raft;
    let taken = 0;
    for (const input of this.inputs) {
      if (input !== TICK && input.term > term) break;
      taken++;
      this.feed(input);
      if (raft.role !== role) break;
    }
    if (taken > 0) this.inputs.splice(0, taken);
  }

  private feed(input: Input): void {
    if (input === TICK) this.raw.tick();
    else this.raw.step(input);
  }
}
