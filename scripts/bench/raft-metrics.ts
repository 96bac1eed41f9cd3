// The nodes' own view of a run, from GET /metrics before and after it: synced writes
// (fsyncs), entries per synced write (group commit) and proposal-to-apply time. These
// say where a rate comes from, e.g. whether fsync batching works. Parsing is pure.

/** Sums and counts of the Raft histograms a node exports (src/node/metrics.ts). */
export interface RaftCounters {
  fsyncCount: number;
  fsyncSeconds: number;
  persistBatches: number;
  persistEntries: number;
  commitCount: number;
  commitSeconds: number;
}

const NAMES: Record<string, keyof RaftCounters> = {
  mom_raft_fsync_seconds_count: 'fsyncCount',
  mom_raft_fsync_seconds_sum: 'fsyncSeconds',
  mom_raft_persist_batch_entries_count: 'persistBatches',
  mom_raft_persist_batch_entries_sum: 'persistEntries',
  mom_raft_proposal_commit_seconds_count: 'commitCount',
  mom_raft_proposal_commit_seconds_sum: 'commitSeconds',
};

export function parseRaftCounters(text: string): RaftCounters {
  const out: RaftCounters = { fsyncCount: 0, fsyncSeconds: 0, persistBatches: 0, persistEntries: 0, commitCount: 0, commitSeconds: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space).replace(/\{.*\}$/, '');
    const key = NAMES[name];
    if (key !== undefined) out[key] += Number(line.slice(space + 1)) || 0;
  }
  return out;
}

export interface RaftActivity {
  fsyncs: number;
  fsyncsPerSecond: number;
  fsyncMeanMs: number;
  entriesPerFsync: number;
  /** Leader: propose() to apply, mean over the run. */
  commitMeanMs: number;
}

export function raftActivity(before: RaftCounters, after: RaftCounters, wallMs: number): RaftActivity {
  const fsyncs = after.fsyncCount - before.fsyncCount;
  const batches = after.persistBatches - before.persistBatches;
  const commits = after.commitCount - before.commitCount;
  return {
    fsyncs,
    fsyncsPerSecond: wallMs > 0 ? (fsyncs * 1000) / wallMs : 0,
    fsyncMeanMs: fsyncs > 0 ? ((after.fsyncSeconds - before.fsyncSeconds) * 1000) / fsyncs : Number.NaN,
    entriesPerFsync: batches > 0 ? (after.persistEntries - before.persistEntries) / batches : Number.NaN,
    commitMeanMs: commits > 0 ? ((after.commitSeconds - before.commitSeconds) * 1000) / commits : Number.NaN,
  };
}
