// The operation history, Jepsen style: every operation is logged once when invoked and
// once when it completes, as ok (it happened), fail (it certainly did not happen) or
// info (outcome unknown: a timeout, a lost connection, a 5xx).
import { createWriteStream, type WriteStream } from 'node:fs';

import type { HistoryOp, OpFunction, OpType, OpValue } from './ops.js';

type Payload<F extends OpFunction> = OpValue<F>;

/** Records operations in memory and, when given a path, as JSON lines on disk. */
export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];
  /** Completed operations by outcome, for progress lines. */
  readonly counts = { ok: 0, fail: 0, info: 0 };
  private nextOpId = 1;
  /** Invoked and not yet completed: what a stuck run is waiting for. */
  private readonly open = new Map<number, { process: string; f: OpFunction; time: number }>();
  private readonly out: WriteStream | undefined;

  constructor(readonly clock: () => number, path?: string) {
    this.out = path === undefined ? undefined : createWriteStream(path, { flags: 'w' });
  }

  /** `at`: when the operation is known to have started, if before now (a stream
   *  consumer's deliveries were all leased after the consumer started). */
  invoke<F extends OpFunction>(process: string, f: F, value: Payload<F>, at?: number): number {
    const opId = this.nextOpId++;
    this.open.set(opId, { process, f, time: at ?? this.clock() });
    this.push({ process, type: 'invoke', f, opId, time: at ?? this.clock(), value } as HistoryOp);
    return opId;
  }

  complete<F extends OpFunction>(
    opId: number, process: string, f: F, type: Exclude<OpType, 'invoke'>, value: Payload<F>, error?: string, node?: string,
  ): void {
    const op = { process, type, f, opId, time: this.clock(), value } as HistoryOp;
    if (error !== undefined) op.error = error;
    if (node !== undefined) op.node = node;
    this.counts[type]++;
    this.open.delete(opId);
    this.push(op);
  }

  /** Operations invoked and not completed, oldest first (time: when invoked). */
  inFlight(): Array<{ opId: number; process: string; f: OpFunction; time: number }> {
    return [...this.open].map(([opId, o]) => ({ opId, ...o })).sort((a, b) => a.time - b.time);
  }

  private push(op: HistoryOp): void {
    this.ops.push(op);
    // After close (a run that failed while operations were still going): memory only,
    // as a write after end would be an unhandled stream error.
    if (this.closing === undefined) this.out?.write(`${JSON.stringify(op)}\n`);
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    const out = this.out;
    if (out === undefined) return Promise.resolve();
    this.closing ??= new Promise((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return this.closing;
  }
}
