import type { SnapshotSpool } from './storage/log-store.js';
import type { NodeId, Snapshot, SnapshotChunk, SnapshotMeta, SnapshotSource } from './types.js';

/**
 * Chunked InstallSnapshot. The leader streams one chunk at a time and moves on when
 * the follower confirms the bytes it holds; the follower assembles the chunks of one
 * stream and hands the whole snapshot to the core when the last one arrives.
 */

/** Leader side: the stream to one follower. */
export interface SnapshotStream {
  meta: SnapshotMeta;
  source: SnapshotSource;
  /** Bytes the follower confirmed having received. */
  acked: number;
  /** `acked` when the previous heartbeat answer came: no change means a lost chunk. */
  ackedAtLastHeartbeat: number;
}

export function startStream(source: SnapshotSource): SnapshotStream {
  return { meta: source.meta, source, acked: 0, ackedAtLastHeartbeat: -1 };
}

/** The chunk that follows what the follower confirmed (may throw SnapshotGoneError). */
export function nextChunk(stream: SnapshotStream, chunkBytes: number): SnapshotChunk {
  const total = stream.source.totalBytes;
  const end = Math.min(total, stream.acked + Math.max(1, chunkBytes));
  return {
    meta: stream.meta,
    offset: stream.acked,
    totalBytes: total,
    data: stream.source.read(stream.acked, end - stream.acked),
    done: end === total,
  };
}

/** What the follower answers to a chunk. */
export type ChunkOutcome =
  | { kind: 'progress'; received: number }
  | { kind: 'resend'; from: number }
  | { kind: 'complete'; snapshot: Snapshot };

/** Makes the spool of a new stream (the store's, or memorySpool). */
export type SpoolFactory = (meta: SnapshotMeta, totalBytes: number) => SnapshotSpool;

/** The whole stream assembled in memory: the snapshot's data is every byte received. */
export function memorySpool(meta: SnapshotMeta): SnapshotSpool {
  let parts: Uint8Array[] = [];
  let received = 0;
  return {
    write(data) {
      parts.push(data);
      received += data.length;
    },
    finish() {
      const data = new Uint8Array(received);
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      parts = [];
      return { meta, data };
    },
    discard() {
      parts = [];
    },
  };
}

/** Follower side: takes the chunks of one stream, in order, into a spool. */
export class SnapshotReceiver {
  private stream: { from: NodeId; term: number; meta: SnapshotMeta; spool: SnapshotSpool; received: number } | undefined;

  constructor(private readonly makeSpool: SpoolFactory = memorySpool) {}

  accept(from: NodeId, term: number, chunk: SnapshotChunk): ChunkOutcome {
    const cur = this.stream;
    // Chunks are only combined within one stream: same sender, term and snapshot (two
    // nodes need not encode the same state into the same bytes).
    const same =
      cur !== undefined &&
      cur.from === from &&
      cur.term === term &&
      cur.meta.index === chunk.meta.index &&
      cur.meta.term === chunk.meta.term;
    if (!same) {
      // A mid-stream chunk of a stream we do not hold (we restarted): ask from zero.
      if (chunk.offset !== 0) return { kind: 'resend', from: 0 };
      this.reset();
      this.stream = { from, term, meta: chunk.meta, spool: this.makeSpool(chunk.meta, chunk.totalBytes), received: 0 };
    }
    const s = this.stream!;
    if (chunk.offset !== s.received) {
      // A gap asks for a resend; a duplicate of something we hold just reports progress.
      return chunk.offset > s.received ? { kind: 'resend', from: s.received } : { kind: 'progress', received: s.received };
    }
    let snapshot: Snapshot | undefined;
    try {
      s.spool.write(chunk.data);
      s.received += chunk.data.length;
      if (!chunk.done) return { kind: 'progress', received: s.received };
      this.stream = undefined;
      snapshot = s.spool.finish();
    } catch {
      // Bytes the spool refused (damaged, or the disk failed): start the stream over.
      this.stream = undefined;
      s.spool.discard();
      return { kind: 'resend', from: 0 };
    }
    return { kind: 'complete', snapshot };
  }

  reset(): void {
    this.stream?.spool.discard();
    this.stream = undefined;
  }
}
