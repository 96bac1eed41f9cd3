import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ConfState } from '../raft/types.js';
import type { NodeConfig } from './config.js';
import { StorageFailedError } from './errors.js';
import type { RaftMetrics } from './metrics.js';
import type { StateMachine } from './state-machine.js';
import type { DiskLogStore } from './storage/disk-log-store.js';

/** Bytes of snapshot image encoded per turn of the event loop. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Chunks of the finished image copied into one buffer per turn of the event loop. */
const COPY_CHUNKS_PER_TURN = 16;

/** A snapshot being encoded in the background; at most one at a time. */
interface SnapshotTask {
  index: number;
  done: Promise<void>;
  /** Set when the image is no longer wanted (an installed snapshot, a stop). */
  abandoned: boolean;
}

export interface SnapshotterDeps {
  config: NodeConfig;
  store: DiskLogStore;
  stateMachine: StateMachine;
  logger: Logger;
  metrics: RaftMetrics;
  /** The node's current term (for log lines). */
  term(): number;
  /** The node halted: stop encoding. */
  halted(): boolean;
  /** The log failed while compacting: the node must halt. */
  fatal(err: Error): void;
}

/**
 * Takes the node's snapshots: decides when, captures the state machine's image,
 * encodes it a chunk per turn of the event loop, and compacts the log once it is
 * complete. The Ready loop tells it what was applied and when a snapshot from the
 * leader replaces the state.
 */
export class Snapshotter {
  private task: SnapshotTask | undefined;
  /** Bytes of entries applied since the last snapshot was captured or installed. */
  private logBytesSinceSnapshot = 0;

  constructor(private readonly deps: SnapshotterDeps) {}

  noteApplied(bytes: number): void {
    this.logBytesSinceSnapshot += bytes;
  }

  noteInstalled(): void {
    this.logBytesSinceSnapshot = 0;
    this.noteHeld();
  }

  /** Publishes the size of the snapshot held and where the log starts now. */
  noteHeld(): void {
    const { store, metrics } = this.deps;
    metrics.snapshotBytes.set(store.snapshotBytes());
    metrics.logFirstIndex.set(store.firstIndex());
  }

  /**
   * Starts a snapshot every `snapshotEvery` applied entries (or `snapshotLogBytes` of
   * them, so that batches of large messages do not leave gigabytes to replay after a
   * restart), once the log applied since
   * the last one also holds `snapshotLogPercent`% of its bytes: the cost of snapshots
   * stays proportional to the write rate however large the state grows, and a restart
   * replays at most about one image's worth of log. Only the capture runs
   * here; the image is encoded a chunk per turn of the event loop while the loop keeps
   * ticking, stepping and applying, and the log is compacted at the captured index
   * once the image is complete, keeping `snapshotRetainEntries` entries below it, and
   * every entry from the state machine's retainFrom() on (live message bodies).
   */
  maybeStart(applied: number): void {
    const { store, config, stateMachine: sm, logger } = this.deps;
    if (this.task || this.deps.halted()) return;
    const held = store.snapshotMeta();
    if (applied - held.index < config.snapshotEvery && this.logBytesSinceSnapshot < config.snapshotLogBytes) return;
    const heldBytes = store.snapshotBytes();
    if (this.logBytesSinceSnapshot * 100 < heldBytes * config.snapshotLogPercent) return;
    const index = applied;
    const term = store.term(index);
    const started = performance.now();
    let chunks: Iterator<Uint8Array>;
    try {
      chunks = (sm.snapshotChunks ? sm.snapshotChunks(SNAPSHOT_CHUNK_BYTES) : [sm.snapshot()])[Symbol.iterator]();
    } catch (err) {
      logger.error({ err, term: this.deps.term(), index }, 'the state machine failed to capture a snapshot');
      return;
    }
    // The entries the captured state still reads (live message bodies) stay in the log.
    const retainFrom = sm.retainFrom?.();
    const captureMs = performance.now() - started;
    this.logBytesSinceSnapshot = 0;
    const task: SnapshotTask = { index, abandoned: false, done: Promise.resolve() };
    this.task = task;
    task.done = this.finish(task, term, held.conf, chunks, captureMs, retainFrom)
      .catch((err) => {
        if (err instanceof StorageFailedError) this.deps.fatal(err);
        else logger.error({ err, term: this.deps.term(), index }, 'taking a snapshot failed; the log is not compacted');
      })
      .finally(() => {
        if (this.task === task) this.task = undefined;
      });
  }

  /** Drops the snapshot being taken, waiting for its compaction if that has begun. */
  async abandon(): Promise<void> {
    const task = this.task;
    if (!task) return;
    task.abandoned = true;
    await task.done;
  }

  private async finish(task: SnapshotTask, term: number, conf: ConfState, chunks: Iterator<Uint8Array>, captureMs: number, retainFrom: number | undefined): Promise<void> {
    const { store, config, metrics, logger } = this.deps;
    const stopped = () => task.abandoned || this.deps.halted();
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      // Let timers, inbound messages and the loop run between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stopped()) return;
      const next = chunks.next();
      if (next.done) break;
      parts.push(next.value);
      bytes += next.value.length;
    }
    // One image for the store (the core streams it to followers from memory), copied
    // a few chunks per turn: a gigabyte copied at once would stall the loop for seconds.
    const data = parts.length === 1 ? parts[0] : new Uint8Array(bytes);
    if (parts.length > 1) {
      let at = 0;
      for (let k = 0; k < parts.length; k++) {
        if (k % COPY_CHUNKS_PER_TURN === 0) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (stopped()) return;
        }
        data.set(parts[k], at);
        at += parts[k].length;
      }
    }
    const keepFrom = Math.max(1, Math.min(task.index + 1 - config.snapshotRetainEntries, retainFrom ?? Number.POSITIVE_INFINITY));
    await store.compact({ meta: { index: task.index, term, conf }, data }, keepFrom);
    metrics.snapshots.inc({ kind: 'taken' });
    this.noteHeld();
    logger.info(
      { term: this.deps.term(), index: task.index, bytes, chunks: parts.length, captureMs: Math.round(captureMs * 10) / 10, firstIndex: store.firstIndex() },
      'took a snapshot and compacted the log',
    );
  }
}
