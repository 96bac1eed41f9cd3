import { jest } from '@jest/globals';
import { formatCount, formatDuration, formatNumber, formatSpread, formatTable, formatWithUnit } from '../../scripts/bench/table.js';
import { PrefixedProgress, renderBar } from '../../scripts/bench/progress.js';
import { collectMetrics, summaryTable, type ScenarioResult } from '../../scripts/bench/results.js';
import { meetsTarget } from '../../scripts/bench/targets.js';
import { electionNotes, errorNotes } from '../../scripts/bench/scenario.js';

describe('number formatting', () => {
  it('groups thousands and keeps precision for small values', () => {
    expect(formatNumber(15234.4)).toBe('15,234');
    expect(formatNumber(0.8512)).toBe('0.85');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(Number.NaN)).toBe('-');
  });

  it('adds units', () => {
    expect(formatWithUnit(1000, 'msg/s')).toBe('1,000/s');
    expect(formatWithUnit(1.5, 'ms')).toBe('1.50 ms');
    expect(formatWithUnit(1800, 'B')).toBe('1,800 B');
    expect(formatWithUnit(300 * 2 ** 20, 'B')).toBe('300 MiB');
  });

  it('shows the spread as plus/minus half the range, only for several runs', () => {
    expect(formatSpread(20, 3)).toBe('±10%');
    expect(formatSpread(5, 3)).toBe('±2.5%');
    expect(formatSpread(5, 1)).toBe('');
  });

  it('formats durations', () => {
    expect(formatDuration(38_200)).toBe('38.2 s');
    expect(formatDuration(252_000)).toBe('4m 12s');
  });

  it('draws a bar clamped to 0..100 %', () => {
    expect(renderBar(0.5, 10)).toBe('[#####.....]  50%');
    expect(renderBar(2, 4)).toBe('[####] 100%');
    expect(renderBar(Number.NaN, 4)).toBe('[....]   0%');
  });
});

describe('tables', () => {
  it('pads columns to the widest cell and aligns numbers right', () => {
    const text = formatTable(['name', 'rate'], [['a', '1'], ['long', '1,000']], ['left', 'right']);
    expect(text.split('\n')).toEqual(['name   rate', '----  -----', 'a         1', 'long  1,000']);
  });

  it('puts targets, verdicts and peers beside the medians', () => {
    const result: ScenarioResult = {
      id: 2, name: 'pipelined', title: 'pipelined send', config: {}, notes: [],
      runs: [], metrics: collectMetrics([
        { key: 'rate', label: 'msgs/s', unit: 'msg/s', ref: 'pipelined.rate' },
        { key: 'p50', label: 'p50', unit: 'ms' },
      ], [
        { values: { rate: 16000, p50: 10 }, detail: {} },
        { values: { rate: 14000, p50: 12 }, detail: {} },
        { values: { rate: 17000, p50: 11 }, detail: {} },
      ]),
      cpu: { wallMs: 1000, cores: 2, serversMs: {}, serversTotalMs: 1500, loadGenMs: 400, otherMs: 500, otherShare: 0.25, contended: true },
    };
    const failed: ScenarioResult = { id: 7, name: 'failover', title: 'failover', config: {}, notes: [], runs: [], metrics: [], failed: 'no leader found' };
    const lines = summaryTable([result, failed]).split('\n');
    expect(lines[2]).toMatch(/^2 pipelined send\s+msgs\/s\s+16,000\/s\s+±9\.4%\s+>= 15,000\/s\s+met\s+150% \/ 40% \/ 50% \*\s+RabbitMQ ~9,000/);
    expect(lines[3]).toMatch(/^\s+p50\s+11.0 ms/);
    expect(lines[4]).toMatch(/^7 failover\s+FAILED.*no leader found/);
  });

  it('judges targets by their kind', () => {
    expect(meetsTarget({ kind: 'min', value: 1000 }, 1000)).toBe(true);
    expect(meetsTarget({ kind: 'max', value: 1 }, 1)).toBe(false);
    expect(meetsTarget({ kind: 'max', value: 1 }, Number.NaN)).toBe(false);
  });
});

describe('counts in titles', () => {
  it('abbreviates round counts', () => {
    expect(formatCount(1_000_000)).toBe('1M');
    expect(formatCount(100_000)).toBe('100k');
    expect(formatCount(1_500)).toBe('1,500');
  });
});

describe('error notes', () => {
  it('counts failed requests of all runs and quotes the first', () => {
    expect(errorNotes([
      { values: {}, detail: { errors: 2, errorSamples: ['send: HTTP 503 no_leader'] } },
      { values: {}, detail: { producerErrors: 1, consumerErrors: 1, errorSamples: [] } },
    ])).toEqual(['4 failed requests over 2 runs, e.g. send: HTTP 503 no_leader']);
    expect(errorNotes([{ values: {}, detail: { errors: 0 } }])).toEqual([]);
  });
});

describe('election notes', () => {
  it('names the runs whose term rose', () => {
    expect(electionNotes([
      { values: {}, detail: { termBefore: 2, termAfter: 2 } },
      { values: {}, detail: { termBefore: 2, termAfter: 4 } },
    ])).toEqual(['the Raft term rose during 1 of 2 runs (2->4) with every node up: elections under load']);
    expect(electionNotes([{ values: {}, detail: {} }])).toEqual([]);
  });
});

describe('prefixed progress', () => {
  it('names who runs in front of each bar', () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      new PrefixedProgress('RabbitMQ: ').start('run 1/3', () => 0.5).done('12,000 msg/s');
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('RabbitMQ: run 1/3');
    expect(written.join('')).toContain('12,000 msg/s');
  });
});
