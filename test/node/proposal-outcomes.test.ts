// Proposal outcomes are counted in plain numbers and reach the registry when scraped.
import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { RaftMetrics } from '../../src/node/metrics.js';

describe('mom_raft_proposals_total', () => {
  test('each outcome counted since start, only those that happened, on every scrape', async () => {
    const registry = new Registry();
    const metrics = new RaftMetrics(registry);
    const scrape = async () => {
      const { values } = await registry.getSingleMetric('mom_raft_proposals_total')!.get();
      return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]));
    };
    expect(await scrape()).toEqual({});
    for (let i = 0; i < 3; i++) metrics.proposals.inc({ outcome: 'committed' });
    metrics.proposals.inc({ outcome: 'refused' }, 4);
    expect(await scrape()).toEqual({ committed: 3, refused: 4 });
    metrics.proposals.inc({ outcome: 'committed' });
    metrics.proposals.inc({ outcome: 'unknown' }, 2);
    expect(await scrape()).toEqual({ committed: 4, refused: 4, unknown: 2 });
    expect(await registry.metrics()).toContain('mom_raft_proposals_total{outcome="committed"} 4');
  });
});
