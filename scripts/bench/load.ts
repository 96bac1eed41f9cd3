// A closed-loop load: `concurrency` workers each run one operation after another until
// the time is up; every operation's latency goes into an HDR histogram. The rate counts
// what completed, over the time until the last in-flight operation finished.
import { latencyHistogram, percentiles, recordMs, type Histogram, type Percentiles } from './histogram.js';
import { ratePerSecond } from './stats.js';

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** One operation; resolves with the number of messages it moved (0 if it failed softly). */
  op: (worker: number) => Promise<number>;
  /** Stops the run early (e.g. a drain that has finished). */
  done?: () => boolean;
  /** Called after each completed operation with its end time and message count. */
  onComplete?: (atMs: number, messages: number) => void;
}

export interface LoadResult {
  operations: number;
  messages: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  rate: number;
  latency: Percentiles;
  histogram: Histogram;
}

export interface LoadState {
  startedAt: number;
  messages: number;
  errors: number;
}

export async function closedLoop(opts: LoadOptions, state: LoadState = { startedAt: 0, messages: 0, errors: 0 }): Promise<LoadResult> {
  const histogram = latencyHistogram();
  const errorSamples: string[] = [];
  let operations = 0;
  const start = performance.now();
  state.startedAt = start;
  state.messages = 0;
  state.errors = 0;
  const end = start + opts.durationMs;
  const stop = () => performance.now() >= end || (opts.done?.() ?? false);

  const worker = async (index: number) => {
    while (!stop()) {
      const t0 = performance.now();
      try {
        const moved = await opts.op(index);
        const t1 = performance.now();
        recordMs(histogram, t1 - t0);
        operations++;
        state.messages += moved;
        opts.onComplete?.(t1, moved);
      } catch (err) {
        state.errors++;
        if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
        // A failing target must not turn the loop into a busy spin.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
  const elapsedMs = performance.now() - start;
  return {
    operations,
    messages: state.messages,
    errors: state.errors,
    errorSamples,
    elapsedMs,
    rate: ratePerSecond(state.messages, elapsedMs),
    latency: percentiles(histogram),
    histogram,
  };
}
