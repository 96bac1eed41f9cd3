import type { CpuReport } from '../../scripts/bench/cpu.js';
import { cpuPerMessage, cpuPerMessageTable, roleCell } from '../../scripts/bench/cpu-per-message.js';
import { hopTable } from '../../scripts/bench/report.js';
import { cpuRuns } from '../../scripts/bench/scenario.js';
import type { ScenarioResult } from '../../scripts/bench/results.js';

const report = (serversMs: Record<string, number>, loadGenMs: number, otherMs = 0): CpuReport => ({
  wallMs: 1000, cores: 2, serversMs, serversTotalMs: Object.values(serversMs).reduce((s, v) => s + v, 0),
  loadGenMs, otherMs, otherShare: otherMs / 2000, contended: false,
});

describe('CPU per message by hop', () => {
  it('divides each role by the messages moved (ms -> µs)', () => {
    const c = cpuPerMessage([{ cpu: report({ n1: 900, n2: 300, n3: 330 }, 650, 100), messages: 10_000, leaderId: 'n1' }])!;
    expect(c.leaderUs).toBeCloseTo(90);
    expect(c.followersUs[0]).toBeCloseTo(30);
    expect(c.followersUs[1]).toBeCloseTo(33);
    expect(c.serversUs).toBeCloseTo(153);
    expect(c.loadGenUs).toBeCloseTo(65);
    expect(c.otherUs).toBeCloseTo(10);
    expect(c).toMatchObject({ messages: 10_000, leaders: ['n1'], followers: [['n2'], ['n3']] });
  });

  it('sums runs before dividing, following the leader from run to run', () => {
    const c = cpuPerMessage([
      { cpu: report({ n1: 100, n2: 20, n3: 40 }, 10), messages: 1000, leaderId: 'n1' },
      { cpu: report({ n1: 60, n2: 300, n3: 20 }, 30), messages: 3000, leaderId: 'n2' },
    ])!;
    // Leader: (100 + 300) ms over 4000 messages; follower 1: n2 then n1; follower 2: n3 both times.
    expect(c.leaderUs).toBeCloseTo(100);
    expect(c.followersUs[0]).toBeCloseTo(20);
    expect(c.followersUs[1]).toBeCloseTo(15);
    expect(c.loadGenUs).toBeCloseTo(10);
    expect(c.leaders).toEqual(['n1', 'n2']);
    expect(c.followers).toEqual([['n2', 'n1'], ['n3']]);
  });

  it('keeps the totals but no roles when a run did not know its leader', () => {
    const c = cpuPerMessage([
      { cpu: report({ n1: 100, n2: 100 }, 0), messages: 1000, leaderId: 'n1' },
      { cpu: report({ n1: 100, n2: 100 }, 0), messages: 1000 },
    ])!;
    expect(c.leaderUs).toBeNaN();
    expect(c.followersUs).toEqual([]);
    expect(c.serversUs).toBeCloseTo(200);
  });

  it('has nothing to say without messages', () => {
    expect(cpuPerMessage([])).toBeUndefined();
    expect(cpuPerMessage([{ cpu: report({ n1: 5 }, 1), messages: 0, leaderId: 'n1' }])).toBeUndefined();
  });

  it('takes only the runs that measured CPU and counted messages', () => {
    const cpu = report({ n1: 1 }, 1);
    expect(cpuRuns([
      { values: {}, detail: {}, cpu, messages: 5, leaderId: 'n1' },
      { values: {}, detail: {}, messages: 5 },
      { values: {}, detail: {}, cpu },
    ])).toEqual([{ cpu, messages: 5, leaderId: 'n1' }]);
  });

  it('prints a column per hop with the node it was measured on', () => {
    expect(roleCell(90.4, ['n1'])).toBe('90.4 (n1)');
    expect(roleCell(Number.NaN, ['n1'])).toBe('-');
    const c = cpuPerMessage([{ cpu: report({ n1: 900, n2: 300, n3: 330 }, 650), messages: 10_000, leaderId: 'n1' }]);
    const lines = cpuPerMessageTable([{ label: '2 pipelined', unit: 'sent', cpu: c }, { label: '8 recovery', unit: 'sent', cpu: undefined }]).split('\n');
    expect(lines[0]).toMatch(/^scenario\s+per message\s+leader\s+follower 1\s+follower 2\s+servers\s+load gen\s+other$/);
    expect(lines[2]).toMatch(/^2 pipelined\s+sent \(10,000\)\s+90\.0 \(n1\)\s+30\.0 \(n2\)\s+33\.0 \(n3\)\s+153\s+65\.0\s+0\.00$/);
    expect(lines[3]).toMatch(/^8 recovery\s+sent\s+-\s+-\s+-\s+-\s+-\s+-$/);
  });

  it('lists in the bench summary only the scenarios that move messages', () => {
    const base = { config: {}, notes: [], runs: [], metrics: [] };
    const results: ScenarioResult[] = [
      { ...base, id: 1, name: 'sequential', title: 'sequential send', cpuUnit: 'sent', cpuPerMessage: cpuPerMessage([{ cpu: report({ n1: 10 }, 5), messages: 100, leaderId: 'n1' }]) },
      { ...base, id: 9, name: 'memory', title: 'memory' },
    ];
    const text = hopTable(results);
    expect(text).toMatch(/1 sequential send\s+sent \(100\)\s+100 \(n1\)/);
    expect(text).not.toMatch(/memory/);
  });
});
