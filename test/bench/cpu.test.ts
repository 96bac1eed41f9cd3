import { cpuBetween, parseMachineTicks, parseProcessTicks, sumCpu, type CpuSample } from '../../scripts/bench/cpu.js';

describe('CPU accounting', () => {
  it('reads utime + stime from /proc/<pid>/stat, even with spaces and parentheses in the name', () => {
    const stat = '4242 (node (mom) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 11 0 100 1000 2000';
    expect(parseProcessTicks(stat)).toBe(325);
  });

  it('reads busy and total ticks of the machine from /proc/stat', () => {
    const text = 'cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n';
    expect(parseMachineTicks(text)).toEqual({ busy: 161, total: 1181 });
  });

  const sample = (atMs: number, n1: number | undefined, n2: number, gen: number, machine: number): CpuSample => ({ atMs, servers: { n1, n2 }, loadGenMs: gen, machineBusyMs: machine });

  it('splits the machine time into servers, load generator and others', () => {
    const r = cpuBetween(sample(0, 100, 200, 50, 10_000), sample(1000, 700, 600, 350, 11_600), 2);
    expect(r.serversMs).toEqual({ n1: 600, n2: 400 });
    expect(r).toMatchObject({ wallMs: 1000, serversTotalMs: 1000, loadGenMs: 300, otherMs: 300, contended: false });
    expect(r.otherShare).toBeCloseTo(0.15);
  });

  it('marks a run where others took more than a fifth of the machine, and counts a dead server as 0', () => {
    const r = cpuBetween(sample(0, 100, 200, 0, 0), sample(1000, undefined, 300, 100, 1000), 2);
    expect(r.serversMs).toEqual({ n1: 0, n2: 100 });
    expect(r.otherMs).toBe(800);
    expect(r.contended).toBe(true);
  });

  it('sums several runs into one line', () => {
    const a = cpuBetween(sample(0, 0, 0, 0, 0), sample(1000, 500, 500, 200, 1300), 2);
    const b = cpuBetween(sample(0, 0, 0, 0, 0), sample(1000, 300, 300, 100, 1600), 2);
    const s = sumCpu([a, b])!;
    expect(s).toMatchObject({ wallMs: 2000, serversTotalMs: 1600, loadGenMs: 300, otherMs: 1000, contended: true });
    expect(s.serversMs).toEqual({ n1: 800, n2: 800 });
    expect(sumCpu([])).toBeUndefined();
  });
});
