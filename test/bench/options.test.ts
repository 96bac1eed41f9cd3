import { parseOptions } from '../../scripts/bench/options.js';
import { areaOf, foldedStacks, summarizeProfile, type CpuProfile } from '../../scripts/bench/profile.js';

describe('bench options', () => {
  it('runs scenarios 1-7 three times by default', () => {
    const o = parseOptions([], {});
    expect([...o.scenarios]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(o).toMatchObject({ runs: 3, quick: false, drainMessages: 100_000, profile: false, outDir: 'bench-results' });
  });

  it('QUICK=1 or --quick: one shorter run, a smaller drain', () => {
    for (const o of [parseOptions(['--quick'], {}), parseOptions([], { QUICK: '1' })]) {
      expect(o.runs).toBe(1);
      expect(o.drainMessages).toBeLessThan(100_000);
      expect(o.durations.pipelinedMs).toBeLessThan(parseOptions([], {}).durations.pipelinedMs);
    }
    expect(parseOptions([], { QUICK: '0' }).quick).toBe(false);
  });

  it('BENCH=all adds the heavy scenarios; --only picks some', () => {
    expect([...parseOptions([], { BENCH: 'all' }).scenarios]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...parseOptions(['--all'], {}).scenarios]).toContain(9);
    expect([...parseOptions(['--only', '2,7'], {}).scenarios]).toEqual([2, 7]);
    expect([...parseOptions(['--only=9'], {}).scenarios]).toEqual([9]);
    expect(() => parseOptions(['--only', '13'], {})).toThrow(/unknown scenario/);
    expect([...parseOptions(['--stream'], {}).scenarios]).toEqual([1, 2, 3, 4, 5, 6, 7, 10, 11, 12]);
    expect(() => parseOptions(['--runs', '0'], {})).toThrow(/positive integer/);
  });
});

describe('cpu profile summary', () => {
  it('names the area of a frame', () => {
    expect(areaOf('file:///w/node_modules/jose/dist/node/jwt/verify.js', 'jwtVerify')).toBe('jose');
    expect(areaOf('file:///w/node_modules/@koa/router/lib/router.js', 'x')).toBe('@koa/router');
    expect(areaOf('file:///w/dist/api/app.js', 'x')).toBe('src/api');
    expect(areaOf('file:///w/.tmp/benchdist/node/raft-node.js', 'x')).toBe('src/node');
    expect(areaOf('node:internal/streams/readable', 'x')).toBe('node:internal');
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile = (): CpuProfile => ({
    startTime: 0, endTime: 100,
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
      { id: 2, callFrame: frame('handle', 'file:///w/dist/api/app.js'), children: [3] },
      { id: 3, callFrame: frame('jwtVerify', 'file:///w/node_modules/jose/v.js') },
      { id: 4, callFrame: frame('(idle)', '') },
    ],
    samples: [2, 3, 3, 4],
    timeDeltas: [1000, 2000, 3000, 4000],
  });

  it('adds self time per function and area, inclusive time along the stack, without idle', () => {
    const s = summarizeProfile(profile());
    expect(s.totalMs).toBe(6);
    expect(s.idleMs).toBe(4);
    expect(s.functions[0]).toMatchObject({ name: 'jwtVerify jose/v.js:1', ms: 5 });
    expect(s.areas.map((a) => [a.name, a.ms])).toEqual([['jose', 5], ['src/api', 1]]);
    expect(s.inclusive[0]).toMatchObject({ name: 'handle src/api/app.js:1', ms: 6, share: 1 });
  });

  it('counts only the samples inside a window of the monotonic clock', () => {
    // Sample times: 1000, 3000, 6000, 10000 µs after startTime 0.
    const s = summarizeProfile(profile(), 25, { fromUs: 2000, toUs: 7000 });
    expect(s.totalMs).toBe(5);
    expect(s.idleMs).toBe(0);
    expect(s.areas).toEqual([{ name: 'jose', ms: 5, share: 1 }]);
  });

  it('folds the samples into one line per stack, root first, weighted in µs, without idle', () => {
    expect(foldedStacks(profile())).toBe('handle src/api/app.js:1 1000\nhandle src/api/app.js:1;jwtVerify jose/v.js:1 5000\n');
    expect(foldedStacks(profile(), { fromUs: 2000, toUs: 7000 })).toBe('handle src/api/app.js:1;jwtVerify jose/v.js:1 5000\n');
  });
});
