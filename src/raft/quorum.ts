import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/** Majority maths over one set of voters (a joint configuration would combine two). */
export class MajorityConfig {
  constructor(readonly voters: readonly NodeId[]) {}

  quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  /** The largest index a majority has matched. */
  committedIndex(matchOf: (id: NodeId) => number): number {
    const n = this.voters.length;
    if (n === 0) return Number.MAX_SAFE_INTEGER;
    const matched = this.voters.map(matchOf);
    matched.sort((a, b) => b - a);
    return matched[this.quorum() - 1];
  }

  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.voters.length === 0) return 'won';
    let granted = 0;
    let missing = 0;
    for (const id of this.voters) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (granted + missing >= q) return 'pending';
    return 'lost';
  }
}
