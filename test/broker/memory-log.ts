import type { EntryReader } from '../../src/broker/index.js';

/** The log a test drives a Broker with: every applied entry's bytes by index, so that
 *  answers read bodies from it as the node reads them from its log store. */
export class MemoryLog {
  private readonly entries = new Map<number, Uint8Array>();

  add(index: number, bytes: Uint8Array): void {
    this.entries.set(index, bytes);
  }

  /** Another log holding the same entries (a replica's). */
  copy(): MemoryLog {
    const out = new MemoryLog();
    for (const [k, v] of this.entries) out.add(k, v);
    return out;
  }

  /** Forgets the entries below `index` (a log compacted up to there). */
  dropBelow(index: number): void {
    for (const k of this.entries.keys()) if (k < index) this.entries.delete(k);
  }

  readonly read: EntryReader = (index) => this.entries.get(index);
}
