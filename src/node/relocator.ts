import type { Logger } from 'pino';
import type { EntryReader } from './state-machine.js';

/** Bytes of bodies one relocate entry carries at most. */
export const RELOCATE_MAX_BYTES = 4 * 1024 * 1024;

/** A live body a relocation may move (the broker's RelocationCandidate). */
export interface RelocationCandidate {
  index: number;
  pos: number;
  bytes: number;
}

/** What the relocator needs of the state machine (the broker implements it). */
export interface RelocatingStateMachine {
  retainFrom(): number | undefined;
  relocationCandidates(maxBytes: number, below: number): RelocationCandidate[];
  relocateCommand(candidates: readonly RelocationCandidate[], read: EntryReader): Uint8Array;
}

/** What it needs of the node (RaftNode implements it). */
export interface RelocatingNode {
  leadership(): { role: string };
  appliedIndex(): number;
  readonly readCommand: EntryReader;
  propose(command: Uint8Array): Promise<unknown>;
}

export interface RelocatorOptions {
  node: RelocatingNode;
  stateMachine: RelocatingStateMachine;
  logger: Logger;
  /** NodeConfig.relocateAfterEntries: how far behind the applied index a live body may
   *  lie before it is copied forward; 0 turns relocation off. */
  afterEntries: number;
  /** NodeConfig.relocateCheckMs. */
  checkMs: number;
}

/**
 * The leader's side of relocation (src/broker/README.md, Relocation): every `checkMs`,
 * when the oldest live body (retainFrom) lies more than `afterEntries` entries behind
 * the applied index, it reads the bodies of the oldest live messages below that line
 * (up to RELOCATE_MAX_BYTES) through the node's log and proposes `messages.relocate`.
 * One proposal at a time; followers do nothing (they apply what the leader proposes).
 * The next snapshot then compacts the log past the old entries.
 */
export class Relocator {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly opts: RelocatorOptions) {}

  start(): void {
    if (this.opts.afterEntries === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.check(), this.opts.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check; resolves to the number of messages moved (0 when nothing was due). */
  async check(): Promise<number> {
    const { node, stateMachine: sm, logger, afterEntries } = this.opts;
    if (this.busy || afterEntries === 0 || node.leadership().role !== 'leader') return 0;
    const below = node.appliedIndex() - afterEntries;
    const oldest = sm.retainFrom();
    if (oldest === undefined || oldest >= below) return 0;
    this.busy = true;
    try {
      const candidates = sm.relocationCandidates(RELOCATE_MAX_BYTES, below);
      if (candidates.length === 0) return 0;
      const command = sm.relocateCommand(candidates, node.readCommand);
      const result = (await node.propose(command)) as { ok: boolean; value?: { moved?: number } };
      const moved = result.ok ? (result.value?.moved ?? 0) : 0;
      let bytes = 0;
      for (const c of candidates) bytes += c.bytes;
      logger.info(
        { event: 'relocated', count: candidates.length, moved, bytes, fromIndex: candidates[0].index, retainFrom: oldest, below },
        'old message bodies copied forward in the log',
      );
      return moved;
    } catch (err) {
      logger.warn({ event: 'relocate_failed', err: (err as Error).message }, 'relocation not done (leadership lost?)');
      return 0;
    } finally {
      this.busy = false;
    }
  }
}
