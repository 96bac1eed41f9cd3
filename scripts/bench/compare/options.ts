// What one `make bench-compare` run does, from flags and environment. Pure.
import { flagValue, truthy } from '../options.js';

export interface CompareOptions {
  quick: boolean;
  /** Runs of each row on each system; the table shows medians. */
  runs: number;
  /** Length of each timed run (rows 1, 2 and 4). */
  durationMs: number;
  warmupMs: number;
  /** Rows to run, from COMPARE_ROW_IDS. */
  rows: number[];
  /** Messages queued and drained in each run of row 3. */
  drainMessages: number;
  /** AMQP connections of the RabbitMQ publishers in rows 2 and 4; default 8 and 32 (see rows.ts). */
  amqpConnections?: number;
  /** AMQP port of RabbitMQ node 1 (nodes use it and the next two). */
  amqpPortBase: number;
  /** Erlang distribution port of RabbitMQ node 1. */
  distPortBase: number;
  outDir: string;
}

/** 1: send, 1 in flight; 2: send, 256 in flight; 3: receive+ack; 4: batches of 100. */
export const COMPARE_ROW_IDS = [1, 2, 3, 4];

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}

function optionalPositiveInt(name: string, text: string | undefined): number | undefined {
  return text === undefined || text === '' ? undefined : positiveInt(name, text, 0);
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${text}"`);
  return n;
}

export function parseRows(text: string): number[] {
  const rows = text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s);
    if (!COMPARE_ROW_IDS.includes(n)) throw new Error(`unknown row "${s}" (rows are ${COMPARE_ROW_IDS.join(', ')})`);
    return n;
  });
  if (rows.length === 0) throw new Error('no rows chosen');
  return [...new Set(rows)].sort((a, b) => a - b);
}

export function parseCompareOptions(argv: readonly string[], env: Record<string, string | undefined>): CompareOptions {
  const quick = argv.includes('--quick') || truthy(env.QUICK);
  const rowsText = flagValue(argv, '--rows') ?? env.BENCH_ROWS;
  return {
    quick,
    runs: positiveInt('--runs', flagValue(argv, '--runs') ?? env.BENCH_RUNS, quick ? 1 : 3),
    durationMs: positiveNumber('--duration', flagValue(argv, '--duration') ?? env.BENCH_DURATION, quick ? 2 : 5) * 1000,
    warmupMs: quick ? 1500 : 3000,
    rows: rowsText === undefined ? [...COMPARE_ROW_IDS] : parseRows(rowsText),
    drainMessages: positiveInt('--drain', flagValue(argv, '--drain') ?? env.BENCH_DRAIN, quick ? 20_000 : 100_000),
    amqpConnections: optionalPositiveInt('--amqp-connections', flagValue(argv, '--amqp-connections') ?? env.BENCH_AMQP_CONNECTIONS),
    amqpPortBase: positiveInt('--amqp-port', flagValue(argv, '--amqp-port') ?? env.BENCH_AMQP_PORT, 5672),
    distPortBase: positiveInt('--dist-port', flagValue(argv, '--dist-port') ?? env.BENCH_DIST_PORT, 25672),
    outDir: flagValue(argv, '--out') ?? env.BENCH_OUT ?? 'bench-results',
  };
}

/** Which system runs first in run `run` of the row at `rowIndex`: alternating, so neither always goes first. */
export function runOrder(rowIndex: number, run: number): ['ours', 'rabbit'] | ['rabbit', 'ours'] {
  return (rowIndex + run) % 2 === 0 ? ['ours', 'rabbit'] : ['rabbit', 'ours'];
}
