// Reading a V8 .cpuprofile (node --cpu-prof): self time per function and per area of
// the code (our modules, each dependency, Node internals, GC), so the hot path is named
// in a table rather than hunted in a flame graph. Pure.

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** Where a frame's code lives: `src/api`, `koa`, `node:internal`, `(garbage collector)`... */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = /\/(?:[^/]*dist|src)\/(api|broker|node|raft|main\.js)/.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url.replace(/^file:\/\//, '');
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url === '' ? '' : url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/(?:[^/]*dist|src)\/(?=api|broker|node|raft|main)/, 'src/');
  return `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Self time per function. */
  functions: SelfTime[];
  /** Self time per area (module or dependency). */
  areas: SelfTime[];
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: SelfTime[];
}

/** A span of the monotonic clock in µs (process.hrtime in any process on the machine). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Each sample's weight in µs, 0 outside the window (V8 stamps samples with the monotonic clock). */
function sampleWeights(profile: CpuProfile, window?: ProfileWindow): number[] {
  let t = profile.startTime;
  return profile.samples.map((_, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    return window === undefined || (t >= window.fromUs && t <= window.toUs) ? delta : 0;
  });
}

/** Inclusive time per function: a sample counts for every distinct function on its stack. */
function inclusiveTimes(profile: CpuProfile, byId: Map<number, CpuProfileNode>, weights: number[]): Map<string, number> {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const us = weights[i];
    if (us === 0) return;
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node === undefined || node.callFrame.functionName === '(root)') continue;
      const name = frameName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      out.set(name, (out.get(name) ?? 0) + us);
    }
  });
  return out;
}

/** Self time by function and by area, largest first, without the idle samples. */
export function summarizeProfile(profile: CpuProfile, top = 25, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const weights = sampleWeights(profile, window);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + weights[i]));
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') { idleUs += us; continue; }
    totalUs += us;
    const fn = frameName(node);
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) => [...m.entries()]
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: rank(functions), areas: rank(areas), inclusive: rank(inclusiveTimes(profile, byId, weights)) };
}

/**
 * The samples in `window` as folded stacks, one line per distinct stack: frames from the
 * root down joined by `;`, a space, the µs spent there (Brendan Gregg's format, which
 * flamegraph.pl, inferno and speedscope draw as a flame graph). Idle samples are left out.
 */
export function foldedStacks(profile: CpuProfile, window?: ProfileWindow): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const weights = sampleWeights(profile, window);
  const perLeaf = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (weights[i] > 0) perLeaf.set(id, (perLeaf.get(id) ?? 0) + weights[i]);
  });
  const lines: string[] = [];
  for (const [leaf, us] of perLeaf) {
    if (byId.get(leaf)?.callFrame.functionName === '(idle)') continue;
    const frames: string[] = [];
    for (let cur: number | undefined = leaf; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node === undefined || node.callFrame.functionName === '(root)') continue;
      frames.push(frameName(node).replaceAll(';', ','));
    }
    lines.push(`${frames.reverse().join(';')} ${Math.round(us)}`);
  }
  return lines.sort().join('\n') + '\n';
}
