// Statistics over repeated runs: each scenario runs several times and reports the
// median with the spread, so one noisy run on a shared 2-core machine does not decide.

export interface RunSummary {
  /** Median of the runs (the figure the table shows). */
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, as a percentage; 0 for a single run. */
  spreadPct: number;
  runs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarizeRuns(values: readonly number[]): RunSummary {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spreadPct: Number.NaN, runs: [...values] };
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const spreadPct = finite.length < 2 || med === 0 ? 0 : ((max - min) / Math.abs(med)) * 100;
  return { median: med, min, max, spreadPct, runs: [...values] };
}

/** Events per second over a span measured in milliseconds. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

export interface TimelineBucket {
  /** Start of the bucket, ms since the timeline's origin. */
  atMs: number;
  count: number;
}

/** Counts events into fixed buckets: the failover scenario reads throughput over time. */
export class Timeline {
  private readonly counts: number[] = [];

  constructor(readonly origin: number, readonly bucketMs: number) {}

  record(atMs: number, count = 1): void {
    const index = Math.floor((atMs - this.origin) / this.bucketMs);
    if (index < 0) return;
    while (this.counts.length <= index) this.counts.push(0);
    this.counts[index] += count;
  }

  buckets(): TimelineBucket[] {
    return this.counts.map((count, i) => ({ atMs: i * this.bucketMs, count }));
  }
}

/** Mean rate (events/s) of the buckets whose start lies in [fromMs, toMs). */
export function meanRate(buckets: readonly TimelineBucket[], bucketMs: number, fromMs: number, toMs: number): number {
  const inside = buckets.filter((b) => b.atMs >= fromMs && b.atMs < toMs);
  if (inside.length === 0) return 0;
  const total = inside.reduce((sum, b) => sum + b.count, 0);
  return ratePerSecond(total, inside.length * bucketMs);
}

/**
 * First time at or after `fromMs` where the rate over a sliding window of `windowMs`
 * reaches `fraction` of `baselineRate`; the answer is the window's end (the moment the
 * recovered rate has actually been seen). undefined if it never does.
 */
export function recoveryTime(
  buckets: readonly TimelineBucket[],
  bucketMs: number,
  fromMs: number,
  baselineRate: number,
  fraction: number,
  windowMs: number,
): number | undefined {
  const width = Math.max(1, Math.round(windowMs / bucketMs));
  const start = Math.max(0, Math.ceil(fromMs / bucketMs));
  for (let i = start; i + width <= buckets.length; i++) {
    let total = 0;
    for (let j = i; j < i + width; j++) total += buckets[j].count;
    if (ratePerSecond(total, width * bucketMs) >= fraction * baselineRate) return (i + width) * bucketMs;
  }
  return undefined;
}
