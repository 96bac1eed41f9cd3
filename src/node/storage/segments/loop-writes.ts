// When a synced append is written on the event loop itself instead of through libuv's
// thread pool.
//
// Why: an O_DSYNC write through the pool costs a futex wake of a pool thread, a context
// switch to it and back, and an eventfd wake of the loop when it is done; a small one
// (a few records, as when one request is in flight) spends about as long in those hand-
// offs as the disk takes. A follower has nothing to do while its write is in flight but
// wait for it (its answer waits for the write), so for small appends it writes on the
// loop. The cost is that a disk stall blocks the loop (no heartbeat answers meanwhile):
// one write that is slow makes the next ones go through the pool for a while, so a disk
// in trouble blocks the loop at most once per pause.
import { performance } from 'node:perf_hooks';

/** Appends up to this many bytes may be written on the loop. */
export const LOOP_WRITE_MAX_BYTES = 64 * 1024;
/** A write on the loop that took this long... */
export const SLOW_LOOP_WRITE_MS = 20;
/** ...sends the writes of this long after it through the pool. */
export const LOOP_WRITE_PAUSE_MS = 5000;

export class LoopWrites {
  private pausedUntil = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether an append of `bytes` the caller allows to block goes on the loop. */
  allows(bytes: number): boolean {
    return bytes <= LOOP_WRITE_MAX_BYTES && this.now() >= this.pausedUntil;
  }

  /** Runs `write` on the loop, timing it: a slow one pauses writes on the loop. */
  run(write: () => void): void {
    const started = this.now();
    try {
      write();
    } finally {
      const ended = this.now();
      if (ended - started >= SLOW_LOOP_WRITE_MS) this.pausedUntil = ended + LOOP_WRITE_PAUSE_MS;
    }
  }
}
