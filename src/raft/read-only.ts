import type { NodeId, ReadState } from './types.js';
import { contextKey } from './util.js';

interface ReadIndexStatus {
  index: number;
  context: Uint8Array;
  acks: Set<NodeId>;
}

/**
 * Pending ReadIndex rounds on the leader (etcd's ReadOnlySafe). Each request records
 * the commit index when it arrived and is answered once a quorum acknowledged a
 * heartbeat carrying its context, which proves nobody deposed this leader since.
 */
export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, context, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an ack and returns the acks for that round (undefined if unknown). */
  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(contextKey(context));
    if (!rs) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Releases the confirmed round and every round queued before it (a later heartbeat
   *  round confirms the earlier ones too). */
  advance(context: Uint8Array): ReadState[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    const out: ReadState[] = [];
    for (const k of released) {
      const rs = this.pending.get(k)!;
      this.pending.delete(k);
      out.push({ index: rs.index, context: rs.context });
    }
    return out;
  }

  /** The context of the newest pending round, sent with heartbeats. */
  lastPendingContext(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)!.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
