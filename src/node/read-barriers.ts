import type { ReadState } from '../raft/types.js';

export interface ReadWaiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Linearizable read barriers (ReadIndex): callers queue up, each batch becomes one
 * ReadIndex round with its own context, and a round's callers are released once the
 * state machine has applied the index the leader confirmed for it.
 */
export class ReadBarriers {
  private queued: ReadWaiter[] = [];
  private readonly rounds = new Map<string, ReadWaiter[]>();
  private confirmed: { index: number; waiters: ReadWaiter[] }[] = [];
  private counter = 0;

  enqueue(waiter: ReadWaiter): void {
    this.queued.push(waiter);
  }

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** Starts one round for everything queued; `readIndex` asks the core (false: not leader). */
  startRound(readIndex: (ctx: Uint8Array) => boolean, refusal: () => Error): void {
    if (this.queued.length === 0) return;
    const waiters = this.queued;
    this.queued = [];
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ++this.counter);
    if (readIndex(ctx)) this.rounds.set(key(ctx), waiters);
    else for (const w of waiters) w.reject(refusal());
  }

  /** The core confirmed these rounds (Ready.readStates). */
  confirm(readStates: ReadState[]): void {
    for (const rs of readStates) {
      const k = key(rs.context);
      const waiters = this.rounds.get(k);
      if (!waiters) continue;
      this.rounds.delete(k);
      this.confirmed.push({ index: rs.index, waiters });
    }
  }

  /** Releases every confirmed round whose index is applied. */
  release(applied: number): void {
    if (this.confirmed.length === 0) return;
    const still: typeof this.confirmed = [];
    for (const r of this.confirmed) {
      if (r.index <= applied) for (const w of r.waiters) w.resolve();
      else still.push(r);
    }
    this.confirmed = still;
  }

  failAll(err: () => Error): void {
    const all = [...this.queued, ...[...this.rounds.values()].flat(), ...this.confirmed.flatMap((r) => r.waiters)];
    this.queued = [];
    this.rounds.clear();
    this.confirmed = [];
    for (const w of all) w.reject(err());
  }
}

function key(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}
