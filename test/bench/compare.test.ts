import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CpuReport } from '../../scripts/bench/cpu.js';
import type { RunOutcome } from '../../scripts/bench/results.js';
import { compareTable, formatRatio, hopsTable, ratio, sideCell, summarizeSide, type CompareRowResult } from '../../scripts/bench/compare/compare-table.js';
import { parseCompareOptions, parseRows, runOrder } from '../../scripts/bench/compare/options.js';
import { descendantsOf, parseProcStat, type ProcInfo } from '../../scripts/bench/compare/process-tree.js';
import { findRabbitScripts, INSTALL_HINT } from '../../scripts/bench/compare/rabbit-cluster.js';
import { oursOptions } from '../../scripts/bench/compare/rows.js';
import { parseOptions } from '../../scripts/bench/options.js';

const cpu = (serversMs: Record<string, number>, loadGenMs: number, contended = false): CpuReport => ({
  wallMs: 1000, cores: 2, serversMs, serversTotalMs: Object.values(serversMs).reduce((s, v) => s + v, 0),
  loadGenMs, otherMs: 0, otherShare: 0, contended,
});

const run = (rate: number, p50: number, p99: number, messages: number, servers: Record<string, number>, gen: number, leaderId: string, contended = false): RunOutcome => ({
  values: { rate, p50, p99 }, detail: {}, messages, leaderId, cpu: cpu(servers, gen, contended),
});

describe('bench-compare figures', () => {
  it('takes medians of rate, latency and per-run CPU per message', () => {
    const s = summarizeSide([
      run(800, 1.0, 6, 1000, { n1: 1000, n2: 200, n3: 200 }, 60, 'n1'),
      run(700, 1.2, 9, 1000, { n1: 1200, n2: 300, n3: 300 }, 70, 'n1'),
      run(760, 0.9, 5, 2000, { n1: 1000, n2: 200, n3: 200 }, 200, 'n1', true),
    ]);
    expect(s).toMatchObject({ runs: 3, rate: 760, p50: 1.0, p99: 6, contendedRuns: 1 });
    // Per run: 1,400 / 1,800 / 700 µs of server CPU per message -> median 1,400.
    expect(s.serverUs).toBeCloseTo(1400);
    // Client: 60 / 70 / 100 µs -> 70.
    expect(s.clientUs).toBeCloseTo(70);
    // The per-hop view sums the runs: leader (1000 + 1200 + 1000) ms over 4,000 messages.
    expect(s.hops?.leaderUs).toBeCloseTo(800);
    expect(s.hops?.leaders).toEqual(['n1']);
  });

  it('leaves out runs without CPU or messages from the CPU medians', () => {
    const s = summarizeSide([
      run(100, 1, 2, 100, { r1: 10 }, 1, 'r1'),
      { values: { rate: 300 }, detail: {} },
    ]);
    expect(s.rate).toBe(200);
    expect(s.serverUs).toBeCloseTo(100);
    expect(s.p50).toBe(1);
  });

  it('divides this broker by RabbitMQ and prints the ratio', () => {
    expect(ratio(772, 1020)).toBeCloseTo(0.757);
    expect(formatRatio(ratio(772, 1020))).toBe('0.76×');
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 10)).toBeNaN();
    expect(formatRatio(Number.NaN)).toBe('-');
  });

  it('writes a cell with the latencies a row asks for, and marks failures and contention', () => {
    const s = summarizeSide([run(4823, 43, 247, 1000, { n1: 100 }, 10, 'n1', true)]);
    expect(sideCell(s, ['p50', 'p99'])).toBe('4,823 msg/s, p50 43.0 ms, p99 247 ms *');
    expect(sideCell(s, [])).toBe('4,823 msg/s *');
    expect(sideCell(summarizeSide([], 'connect ECONNREFUSED 127.0.0.1:5672'), ['p50'])).toBe('FAILED: connect ECONNREFUSED 127.0.0.1:5672');
    const partial = summarizeSide([run(10, Number.NaN, Number.NaN, 10, { r1: 1 }, 1, 'r1')], 'drain stalled');
    expect(sideCell(partial, ['p50'])).toBe('10.0 msg/s (incomplete)');
  });

  it('lays out one line per row with the ratio and both CPU figures', () => {
    const row: CompareRowResult = {
      id: 2, title: 'send, 256 in flight', unit: 'sent', latency: ['p50'],
      ours: summarizeSide([run(4823, 43, 247, 10_000, { n1: 1800, n2: 500, n3: 520 }, 650, 'n1')]),
      rabbit: summarizeSide([run(16_018, 15, 30, 10_000, { r1: 500, r2: 220, r3: 230 }, 100, 'r1')]),
    };
    const lines = compareTable([row]).split('\n');
    expect(lines[0]).toMatch(/^scenario\s+this broker\s+RabbitMQ QQ\s+ratio\s+server CPU\/msg \(3 nodes\)\s+client CPU\/msg$/);
    expect(lines[2]).toMatch(/^2 send, 256 in flight\s+4,823 msg\/s, p50 43\.0 ms\s+16,018 msg\/s, p50 15\.0 ms\s+0\.30×\s+282 µs vs 95\.0 µs\s+65\.0 µs vs 10\.0 µs$/);
    const hops = hopsTable([row]).split('\n');
    expect(hops[2]).toMatch(/^2 send, 256 in flight: this broker\s+sent \(10,000\)\s+180 \(n1\)\s+50\.0 \(n2\)\s+52\.0 \(n3\)/);
    expect(hops[3]).toMatch(/^2 send, 256 in flight: RabbitMQ\s+sent \(10,000\)\s+50\.0 \(r1\)\s+22\.0 \(r2\)\s+23\.0 \(r3\)/);
  });
});

describe('bench-compare options', () => {
  it('defaults to 3 runs of 5 s of all four rows', () => {
    const o = parseCompareOptions([], {});
    expect(o).toMatchObject({ runs: 3, durationMs: 5000, rows: [1, 2, 3, 4], drainMessages: 100_000, amqpPortBase: 5672, distPortBase: 25672, quick: false });
    // RabbitMQ's publishers open as many connections as this broker's client unless told.
    expect(o.amqpConnections).toBeUndefined();
    expect(parseCompareOptions(['--amqp-connections', '8'], {}).amqpConnections).toBe(8);
    expect(() => parseCompareOptions([], { BENCH_AMQP_CONNECTIONS: '-1' })).toThrow(/--amqp-connections/);
  });

  it('takes flags before the environment and checks them', () => {
    const o = parseCompareOptions(['--runs', '5', '--duration=2.5', '--rows', '2,1'], { BENCH_RUNS: '1', BENCH_ROWS: '3' });
    expect(o).toMatchObject({ runs: 5, durationMs: 2500, rows: [1, 2] });
    expect(parseCompareOptions([], { BENCH_ROWS: '4', BENCH_DURATION: '1' })).toMatchObject({ rows: [4], durationMs: 1000 });
    expect(() => parseCompareOptions(['--runs', '0'], {})).toThrow(/--runs must be a positive integer/);
    expect(() => parseCompareOptions(['--duration', 'x'], {})).toThrow(/--duration/);
    expect(() => parseRows('1,7')).toThrow(/unknown row "7"/);
    expect(() => parseRows(',')).toThrow(/no rows/);
  });

  it('is short with --quick', () => {
    expect(parseCompareOptions(['--quick'], {})).toMatchObject({ quick: true, runs: 1, durationMs: 2000, drainMessages: 20_000 });
  });

  it('alternates which system goes first, run by run and row by row', () => {
    expect([0, 1, 2].map((r) => runOrder(0, r)[0])).toEqual(['ours', 'rabbit', 'ours']);
    expect(runOrder(1, 0)).toEqual(['rabbit', 'ours']);
  });

  it("runs make bench's scenarios at the compare's duration and drain size", () => {
    const o = oursOptions(parseOptions([], {}), parseCompareOptions(['--duration', '7', '--drain', '5000', '--runs', '2'], {}));
    expect(o.durations).toMatchObject({ sequentialMs: 7000, pipelinedMs: 7000, batchedMs: 7000 });
    expect(o).toMatchObject({ runs: 2, drainMessages: 5000 });
  });
});

describe('RabbitMQ processes and install', () => {
  it('reads pid, name, parent and start time from /proc/<pid>/stat', () => {
    const text = '4242 (beam.smp) S 4200 4200 4200 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 30 0 98765 1000 2000 18446744073709551615';
    expect(parseProcStat(text)).toEqual({ pid: 4242, comm: 'beam.smp', ppid: 4200, startTime: 98765 });
    expect(parseProcStat('7 (a) b) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0')).toMatchObject({ comm: 'a) b', ppid: 1, startTime: 55 });
    expect(() => parseProcStat('garbage')).toThrow();
  });

  it('finds every process below a start script, helpers in their own sessions included', () => {
    const p = (pid: number, ppid: number, comm = 'x'): ProcInfo => ({ pid, ppid, comm, startTime: 1 });
    const all = [p(1, 0, 'init'), p(100, 1, 'sh'), p(101, 100, 'beam.smp'), p(102, 101, 'erl_child_setup'), p(103, 102, 'inet_gethost'), p(200, 1, 'other'), p(201, 200)];
    expect(descendantsOf(100, all).map((x) => x.pid)).toEqual([101, 102, 103]);
    expect(descendantsOf(999, all)).toEqual([]);
  });

  it('finds the start scripts only where both are installed, and says how to install them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rabbit-scripts-'));
    try {
      expect(findRabbitScripts({ RABBITMQ_SCRIPTS_DIR: dir })).toBeUndefined();
      writeFileSync(join(dir, 'rabbitmq-server'), '');
      expect(findRabbitScripts({ RABBITMQ_SCRIPTS_DIR: dir })).toBeUndefined();
      writeFileSync(join(dir, 'rabbitmqctl'), '');
      expect(findRabbitScripts({ RABBITMQ_SCRIPTS_DIR: dir })).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(INSTALL_HINT).toContain('apt-get install -y rabbitmq-server');
  });
});
