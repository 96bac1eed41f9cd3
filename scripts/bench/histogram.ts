// Latency histograms (hdr-histogram-js) recorded in microseconds, reported in ms.
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export type { Histogram };

export function latencyHistogram(): Histogram {
  // Microseconds from 1 µs to 10 min, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Percentiles in ms (NaN when nothing was recorded). */
export function percentiles(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN, mean: Number.NaN };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    p999: h.getValueAtPercentile(99.9) / 1000,
    max: h.maxValue / 1000,
    mean: h.mean / 1000,
  };
}
