// Between runs: the system that just ran may still be busy with deferred work (log
// segments written after a burst, compaction after a drain). Each run starts only when
// both systems' processes are quiet, so that work is not billed to the other system's run
// as "other" CPU, nor missing from its own figures.
import { cpuBetween, sampleCpu, type CpuReport } from '../cpu.js';

/** Below this share of one core both systems count as quiet. */
export const QUIET_SHARE = 0.1;
const WINDOW_MS = 250;
/** Longest wait: a system that never quiets down must not stall the bench. */
export const SETTLE_MAX_MS = 15_000;

/** The servers' CPU over a span as a share of one core. Pure. */
export function busyShare(report: CpuReport): number {
  return report.wallMs > 0 ? report.serversTotalMs / report.wallMs : 0;
}

/** Waits until the processes use less than QUIET_SHARE of a core over a 250 ms window; returns the ms waited. */
export async function settle(pids: () => Record<string, number | undefined>): Promise<number> {
  const start = performance.now();
  for (;;) {
    const before = sampleCpu(pids());
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const share = busyShare(cpuBetween(before, sampleCpu(pids())));
    if (share < QUIET_SHARE || performance.now() - start > SETTLE_MAX_MS) return performance.now() - start;
  }
}
