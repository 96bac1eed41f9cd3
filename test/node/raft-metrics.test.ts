// Raft metrics kept outside prom-client (proposal outcomes in plain numbers; commit and
// applied index and follower lag read from the Ready loop) reach the registry when scraped.
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { RaftMetrics, type LoopProgress } from '../../src/node/metrics.js';

async function scrape(registry: Registry, name: string, label?: string): Promise<Record<string, number>> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return Object.fromEntries(values.map((v) => [label === undefined ? '' : String(v.labels[label]), v.value]));
}

describe('raft metrics', () => {
  test('each outcome counted since start, only those that happened, on every scrape', async () => {
    const registry = new Registry();
    const metrics = new RaftMetrics(registry);
    const outcomes = () => scrape(registry, 'mom_raft_proposals_total', 'outcome');
    expect(await outcomes()).toEqual({});
    for (let i = 0; i < 3; i++) metrics.proposals.inc({ outcome: 'committed' });
    metrics.proposals.inc({ outcome: 'refused' }, 4);
    expect(await outcomes()).toEqual({ committed: 3, refused: 4 });
    metrics.proposals.inc({ outcome: 'committed' });
    metrics.proposals.inc({ outcome: 'unknown' }, 2);
    expect(await outcomes()).toEqual({ committed: 4, refused: 4, unknown: 2 });
    expect(await registry.metrics()).toContain('mom_raft_proposals_total{outcome="committed"} 4');
  });

  test('commit index, applied index and follower lag are read from the Ready loop when scraped', async () => {
    const registry = new Registry();
    const metrics = new RaftMetrics(registry);
    const loop = { commitIndex: 7, applied: 5, lags: [['n2', 3], ['n3', 0]] as Array<[string, number]> };
    const progress: LoopProgress = { get commitIndex() { return loop.commitIndex; }, get applied() { return loop.applied; }, followerLags: () => loop.lags };
    metrics.readFrom(progress);
    expect(await scrape(registry, 'mom_raft_commit_index')).toEqual({ '': 7 });
    expect(await scrape(registry, 'mom_raft_applied_index')).toEqual({ '': 5 });
    expect(await scrape(registry, 'mom_raft_follower_lag_entries', 'peer')).toEqual({ n2: 3, n3: 0 });
    loop.commitIndex = 9;
    loop.applied = 9;
    // No longer leading: no lag series at all (not the last values seen).
    loop.lags = [];
    expect(await scrape(registry, 'mom_raft_commit_index')).toEqual({ '': 9 });
    expect(await scrape(registry, 'mom_raft_applied_index')).toEqual({ '': 9 });
    expect(await scrape(registry, 'mom_raft_follower_lag_entries', 'peer')).toEqual({});
  });
});
