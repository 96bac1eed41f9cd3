import type { ConfState, NodeId } from './types.js';
import { MajorityConfig, type VoteResult } from './quorum.js';
import { Progress } from './progress.js';

/** The configuration as a value plus the leader's per-voter progress and the votes of a campaign. */
export class ProgressTracker {
  config: MajorityConfig;
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(conf: ConfState, readonly maxInflight: number) {
    this.config = new MajorityConfig([...conf.voters]);
  }

  confState(): ConfState {
    return { voters: [...this.config.voters] };
  }

  /** Replaces the configuration (a snapshot carries one; membership changes will too). */
  applyConf(conf: ConfState, nextIndex: number): void {
    this.config = new MajorityConfig([...conf.voters]);
    this.resetProgress(nextIndex);
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.includes(id);
  }

  resetProgress(nextIndex: number): void {
    const old = this.progress;
    this.progress = new Map();
    for (const id of this.config.voters) {
      this.progress.set(id, old.get(id) ?? new Progress(nextIndex, this.maxInflight));
    }
  }

  committed(): number {
    return this.config.committedIndex((id) => this.progress.get(id)?.match ?? 0);
  }

  /** Whether a quorum was heard from since the last check (the leader counts itself). */
  quorumActive(self: NodeId): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) votes.set(id, id === self || pr.recentActive);
    return this.config.voteResult(votes) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return this.config.voteResult(this.votes);
  }
}
