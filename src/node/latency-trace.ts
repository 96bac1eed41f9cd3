// An opt-in timeline of the write path, for finding where one send's time goes
// (scripts/latency-trace.ts merges the nodes' files and prints the time per hop).
// MOM_LATENCY_TRACE=<dir> makes each node record a point at every hop of a write
// (HTTP request in, propose, Ready, its own write, appends and answers on the wire,
// apply, HTTP response out) with the monotonic clock, which all processes of one
// machine share, and write them to <dir>/<pid>.trace when the process exits. Unset,
// `mark` is an empty function: the hot path pays one call of nothing.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants, performance, type PerformanceEntry } from 'node:perf_hooks';
import { join } from 'node:path';
import type { Message } from '../raft/types.js';

/** At most this many points are kept (the oldest are dropped): ~25 MB of memory. */
const MAX_POINTS = 1_000_000;

export type TracePoint =
  | 'http.in'
  | 'http.out'
  | 'propose'
  | 'ready'
  | 'write.start'
  | 'write.done'
  | 'send'
  | 'frame.out'
  | 'frame.sent'
  | 'frame.in'
  | 'apply'
  /** A leader applies entries its followers committed while its own write was in flight. */
  | 'commit.early'
  /** A garbage collection (detail: its kind and length in µs), at its start. */
  | 'gc';

/** Records `point` for log `index` (0 when the hop knows no index) now. */
export let mark: (point: TracePoint, index?: number, detail?: string) => void = () => {};
let tracing = false;

export function tracingLatency(): boolean {
  return tracing;
}

/** Installs the recorder when `dir` is set (main calls it with the environment's value). */
export function startLatencyTrace(dir: string | undefined, nodeId: string): void {
  if (!dir) return;
  const times = new Float64Array(MAX_POINTS);
  const lines: string[] = new Array<string>(MAX_POINTS);
  let n = 0;
  tracing = true;
  const record = (us: number, point: TracePoint, index: number, detail: string) => {
    const k = n++ % MAX_POINTS;
    times[k] = us;
    lines[k] = `${point} ${index} ${detail}`;
  };
  mark = (point, index = 0, detail = '') => record(Number(process.hrtime.bigint()) / 1000, point, index, detail);
  // GCs are reported after they end; each is recorded at its start (performance.now()
  // runs on the same monotonic clock as hrtime), so a slow request can be matched with
  // the pauses that overlapped it.
  const gcs = new PerformanceObserver((list) => {
    const nowUs = Number(process.hrtime.bigint()) / 1000;
    const nowMs = performance.now();
    for (const e of list.getEntries()) record(nowUs - (nowMs - e.startTime) * 1000, 'gc', 0, `${gcKind(e)}:${Math.round(e.duration * 1000)}`);
  });
  gcs.observe({ entryTypes: ['gc'] });
  process.on('exit', () => {
    const first = Math.max(0, n - MAX_POINTS);
    const out: string[] = [];
    for (let i = first; i < n; i++) out.push(`${times[i % MAX_POINTS].toFixed(1)} ${nodeId} ${lines[i % MAX_POINTS]}`);
    writeFileSync(join(dir, `${process.pid}.trace`), out.join('\n') + '\n');
  });
}

/** Marks each append (by its last entry) and append answer (by the index it matched). */
export function markMessages(point: 'frame.in' | 'frame.out' | 'frame.sent' | 'send', messages: readonly Message[]): void {
  if (!tracing) return;
  for (const m of messages) {
    if (m.type === 'append') mark(point, m.index + m.entries.length, `${m.type}:${m.to}`);
    else if (m.type === 'appendResp') mark(point, m.index, `${m.type}:${m.to}`);
  }
}

function gcKind(e: PerformanceEntry): string {
  const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
  if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) return 'minor';
  if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) return 'major';
  if (kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL) return 'incremental';
  if (kind === perfConstants.NODE_PERFORMANCE_GC_WEAKCB) return 'weakcb';
  return String(kind);
}
