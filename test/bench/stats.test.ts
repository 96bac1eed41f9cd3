import { median, meanRate, ratePerSecond, recoveryTime, summarizeRuns, Timeline } from '../../scripts/bench/stats.js';

describe('median and spread of runs', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('reports min, max and the spread relative to the median', () => {
    const s = summarizeRuns([900, 1000, 1100]);
    expect(s).toMatchObject({ median: 1000, min: 900, max: 1100, runs: [900, 1000, 1100] });
    expect(s.spreadPct).toBeCloseTo(20);
  });

  it('has no spread for one run and ignores failed (NaN) runs', () => {
    expect(summarizeRuns([5]).spreadPct).toBe(0);
    const s = summarizeRuns([Number.NaN, 10, 20]);
    expect(s.median).toBe(15);
    expect(s.runs).toHaveLength(3);
    expect(summarizeRuns([Number.NaN]).median).toBeNaN();
  });

  it('computes rates per second from a count and milliseconds', () => {
    expect(ratePerSecond(500, 250)).toBe(2000);
    expect(ratePerSecond(5, 0)).toBe(0);
  });
});

describe('timeline and recovery', () => {
  // 100 ms buckets: 10/bucket (100/s) for 1 s, a 500 ms outage, then 95/s.
  const timeline = new Timeline(0, 100);
  for (let t = 0; t < 1000; t += 10) timeline.record(t + 1);
  for (let t = 1500; t < 3000; t += 100) timeline.record(t + 5, 9.5);
  const buckets = timeline.buckets();

  it('counts events into fixed buckets from the origin', () => {
    expect(buckets[0]).toEqual({ atMs: 0, count: 10 });
    expect(buckets[12]).toEqual({ atMs: 1200, count: 0 });
    expect(buckets).toHaveLength(30);
  });

  it('averages the rate over a span of buckets', () => {
    expect(meanRate(buckets, 100, 0, 1000)).toBeCloseTo(100);
    expect(meanRate(buckets, 100, 1000, 1500)).toBe(0);
  });

  it('finds the end of the first window back at the wanted share of the baseline', () => {
    // 95/s >= 90 % of 100/s: the first full 500 ms window after the outage ends at 2000 ms.
    expect(recoveryTime(buckets, 100, 1000, 100, 0.9, 500)).toBe(2000);
    // 99 % is never reached.
    expect(recoveryTime(buckets, 100, 1000, 100, 0.99, 500)).toBeUndefined();
  });

  it('starts looking at the first whole bucket after the given moment', () => {
    // From 950 ms the window may not include the pre-outage bucket at 900 ms.
    expect(recoveryTime(buckets, 100, 950, 100, 0.5, 200)).toBe(1700);
  });
});
