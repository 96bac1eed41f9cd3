import type { ConfState, Entry, HardState, Snapshot } from '../types.js';
import {
  CompactedError,
  UnavailableError,
  type PersistBatch,
  type WritableLogStore,
} from './log-store.js';
import { limitSize } from '../util.js';

/**
 * The log kept in memory, synchronously. Used by tests, the simulator and the
 * benchmark; the simulator treats it as "the disk" and models a crash by
 * throwing away the RawNode and keeping the store.
 *
 * Layout like etcd's MemoryStorage: `ents[0]` is a dummy entry standing for the
 * snapshot point (its index and term), real entries follow.
 */
export class MemoryLogStore implements WritableLogStore {
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  constructor(conf: ConfState) {
    this.snap = { meta: { index: 0, term: 0, conf: { voters: [...conf.voters] } }, data: new Uint8Array(0) };
    this.ents = [dummy(0, 0)];
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: { ...this.hardState }, conf: { voters: [...this.snap.meta.conf.voters] } };
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  term(index: number): number {
    const offset = this.ents[0].index;
    if (index < offset) throw new CompactedError(index);
    if (index - offset >= this.ents.length) throw new UnavailableError(index);
    return this.ents[index - offset].term;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  save(batch: PersistBatch): void {
    if (batch.snapshot) this.applySnapshot(batch.snapshot);
    if (batch.entries.length > 0) this.append(batch.entries);
    if (batch.hardState) this.hardState = { ...batch.hardState };
  }

  compact(snapshot: Snapshot, keepFrom?: number): void {
    const offset = this.ents[0].index;
    const index = snapshot.meta.index;
    if (index <= this.snap.meta.index) return; // an older snapshot than the one we hold
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const term = this.ents[index - offset].term;
    // The new dummy entry sits just below the first entry kept.
    const start = Math.min(index, Math.max(offset, (keepFrom ?? index + 1) - 1));
    this.ents = [dummy(start, this.ents[start - offset].term), ...this.ents.slice(start - offset + 1)];
    this.snap = { meta: { ...snapshot.meta, term, conf: { voters: [...snapshot.meta.conf.voters] } }, data: snapshot.data };
  }

  close(): void {}

  /** A snapshot received from the leader replaces the whole log. */
  private applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index <= this.snap.meta.index) return;
    this.snap = snapshot;
    this.ents = [dummy(snapshot.meta.index, snapshot.meta.term)];
  }

  private append(entries: Entry[]): void {
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // entirely below the snapshot point
    let ents = entries;
    if (first > ents[0].index) ents = ents.slice(first - ents[0].index);
    const at = ents[0].index - this.ents[0].index;
    if (at > this.ents.length) throw new UnavailableError(ents[0].index - 1);
    if (at < this.ents.length) this.ents.length = at; // replace a conflicting suffix
    for (const e of ents) this.ents.push(e);
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}
