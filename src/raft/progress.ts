import { Inflights } from './inflights.js';
import type { SnapshotStream } from './snapshot-transfer.js';

/**
 * probe: we do not know where the follower's log matches; send one append per
 *   heartbeat interval and wait for the answer.
 * replicate: it matched; stream appends optimistically, bounded by the inflight window.
 * snapshot: it needs a snapshot (its next entry is compacted away); stream it in chunks.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';


/** The leader's view of one follower (etcd's tracker.Progress). */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an append was sent and not answered in this heartbeat interval. */
  probeSent = false;
  pendingSnapshot = 0;
  snapshotStream: SnapshotStream | undefined;
  /** Heard from it since the last check-quorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotStream = undefined;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  /**
   * The follower says its log ends at `lastIndex`, below the match it acknowledged: it
   * lost entries (a wiped or replaced disk). Probing starts again from there. The commit
   * index never goes back, so lowering match changes only what is sent.
   */
  forgetLostEntries(lastIndex: number): boolean {
    if (lastIndex >= this.match) return false;
    this.resetState('probe');
    this.match = lastIndex;
    this.next = lastIndex + 1;
    return true;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(stream: SnapshotStream): void {
    this.resetState('snapshot');
    this.pendingSnapshot = stream.meta.index;
    this.snapshotStream = stream;
  }

  /** An acknowledgement up to `n`; false when it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the append after `rejected`; `matchHint` is the follower's guess
   * of where the logs may match. False when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Records that entries up to `lastIndex` were sent (or a probe, when empty). */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
