// An opt-in timeline of the write path, for finding where one send's time goes
// (scripts/latency-trace.ts merges the nodes' files and prints the time per hop).
// MOM_LATENCY_TRACE=<dir> makes each node record a point at every hop of a write
// (HTTP request in, propose, Ready, its own write, appends and answers on the wire,
// apply, HTTP response out) with the monotonic clock, which all processes of one
// machine share, and write them to <dir>/<pid>.trace when the process exits. Unset,
// `mark` is an empty function: the hot path pays one call of nothing.
import { writeFileSync } from 'node:fs';
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
  | 'apply';

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
  mark = (point, index = 0, detail = '') => {
    const k = n++ % MAX_POINTS;
    times[k] = Number(process.hrtime.bigint()) / 1000;
    lines[k] = `${point} ${index} ${detail}`;
  };
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
