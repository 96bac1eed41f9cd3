import { parseRaftCounters, raftActivity } from '../../scripts/bench/raft-metrics.js';

const scrape = (fsyncs: number, fsyncSum: number, batches: number, entries: number) => `
# HELP mom_raft_fsync_seconds Duration of one synced log write
# TYPE mom_raft_fsync_seconds histogram
mom_raft_fsync_seconds_bucket{le="0.001"} 3
mom_raft_fsync_seconds_sum ${fsyncSum}
mom_raft_fsync_seconds_count ${fsyncs}
mom_raft_persist_batch_entries_sum ${entries}
mom_raft_persist_batch_entries_count ${batches}
mom_raft_proposal_commit_seconds_sum{node="n1"} 0.5
mom_raft_proposal_commit_seconds_count{node="n1"} 100
process_cpu_seconds_total 12
`;

describe('raft activity from /metrics', () => {
  it('reads the sums and counts of the Raft histograms, labels or not', () => {
    expect(parseRaftCounters(scrape(10, 0.02, 10, 640))).toEqual({
      fsyncCount: 10, fsyncSeconds: 0.02, persistBatches: 10, persistEntries: 640, commitCount: 100, commitSeconds: 0.5,
    });
  });

  it('turns two scrapes into fsyncs per second, mean fsync time and entries per fsync', () => {
    const a = raftActivity(parseRaftCounters(scrape(10, 0.02, 10, 640)), parseRaftCounters(scrape(510, 1.02, 510, 32640)), 2000);
    expect(a.fsyncs).toBe(500);
    expect(a.fsyncsPerSecond).toBe(250);
    expect(a.fsyncMeanMs).toBeCloseTo(2);
    expect(a.entriesPerFsync).toBe(64);
    expect(a.commitMeanMs).toBeNaN();
  });
});
