// Where one send's time goes: merges the trace files the nodes wrote under
// MOM_LATENCY_TRACE=<dir> (src/node/latency-trace.ts) and prints, for sequential sends
// (one in flight), the median and p99 of each hop from the HTTP request's arrival at
// the leader to its response. Use it with the sequential benchmark:
//   rm -rf /tmp/t && mkdir /tmp/t && MOM_LATENCY_TRACE=/tmp/t make bench BENCH_ONLY=1 QUICK=1
//   npx tsx scripts/latency-trace.ts /tmp/t
// Hops are told apart by the log index the points carry; a request is paired with the
// first proposal after its arrival and the first answer after its apply.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Point {
  us: number;
  node: string;
  point: string;
  index: number;
  detail: string;
}

function readPoints(dir: string): Point[] {
  const points: Point[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.trace'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const [us, node, point, index, detail = ''] = line.split(' ');
      if (point) points.push({ us: Number(us), node, point, index: Number(index), detail });
    }
  }
  return points.sort((a, b) => a.us - b.us);
}

/** One request's timeline: hop name -> µs since the request arrived; `start` and
 *  `leader` place it on the machine's clock, for matching it with GC pauses. */
type Timeline = Map<string, number> & { start: number; leader: string };

function timelines(points: Point[]): Timeline[] {
  const found: Timeline[] = [];
  const byIndex = new Map<number, Point[]>();
  for (const p of points) {
    if (p.index > 0) {
      const list = byIndex.get(p.index) ?? [];
      list.push(p);
      byIndex.set(p.index, list);
    }
  }
  for (let from = 0; from < points.length; from++) {
    const req = points[from];
    if (req.point !== 'http.in') continue;
    const leader = req.node;
    let apply: Point | undefined;
    let answer: Point | undefined;
    let propose: Point | undefined;
    for (let i = from + 1; i < points.length && i < from + 200; i++) {
      const p = points[i];
      if (p.node !== leader) continue;
      if (p.point === 'http.in') break; // another request before this one's answer: not sequential
      if (!propose && p.point === 'propose') propose = p;
      if (!apply && p.point === 'apply') apply = p;
      if (apply && p.point === 'http.out') {
        answer = p;
        break;
      }
    }
    if (!propose || !apply || !answer) continue;
    const t: Timeline = Object.assign(new Map<string, number>(), { start: req.us, leader });
    const at = (name: string, p: Point | undefined) => p && !t.has(name) && t.set(name, p.us - req.us);
    at('propose', propose);
    for (const p of byIndex.get(apply.index) ?? []) {
      if (p.us < req.us) continue;
      const who = p.node === leader ? 'L' : 'F';
      const name = `${who} ${p.point}${p.point.startsWith('frame') || p.point === 'send' ? ' ' + p.detail.split(':')[0] : ''}`;
      // Followers: keep the first of them to reach each point (the one that makes the quorum).
      at(name, p);
    }
    at('L apply', apply);
    at('http.out', answer);
    found.push(t);
  }
  return found;
}

interface Pause {
  node: string;
  start: number;
  end: number;
  kind: string;
}

function gcPauses(points: Point[]): Pause[] {
  return points
    .filter((p) => p.point === 'gc')
    .map((p) => {
      const [kind, us] = p.detail.split(':');
      return { node: p.node, start: p.us, end: p.us + Number(us), kind };
    });
}

/** How many of `lines` overlapped a GC on their leader or on a follower, and the kinds. */
function printPauses(title: string, lines: Timeline[], pauses: Pause[]): void {
  let onLeader = 0;
  let onFollower = 0;
  let pausedUs = 0;
  const kinds = new Map<string, number>();
  for (const t of lines) {
    const { start } = t;
    const end = start + (t.get('http.out') ?? 0);
    const hit = pauses.filter((p) => p.start < end && p.end > start);
    if (hit.some((p) => p.node === t.leader)) onLeader++;
    if (hit.some((p) => p.node !== t.leader)) onFollower++;
    for (const p of hit) {
      pausedUs += Math.min(end, p.end) - Math.max(start, p.start);
      kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
    }
  }
  const kindText = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  process.stdout.write(
    `${title}: ${lines.length} requests, ${onLeader} overlapped a GC on the leader, ${onFollower} on a follower; ` +
      `GC time inside them ${(pausedUs / Math.max(1, lines.length)).toFixed(0)} µs per request (${kindText})\n`,
  );
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: latency-trace.ts <trace dir>');
  const points = readPoints(dir);
  const lines = timelines(points);
  const pauses = gcPauses(points);
  if (lines.length === 0) throw new Error(`no complete sequential request found in ${dir}`);
  printHops(`${lines.length} sequential requests`, lines);
  // The tail: the same points for the slowest 1 % alone, to see which hop makes it.
  const total = (t: Timeline) => t.get('http.out') ?? 0;
  const byTotal = [...lines].sort((a, b) => total(b) - total(a));
  const slowest = byTotal.slice(0, Math.max(1, Math.floor(lines.length / 100)));
  printHops(`\nthe slowest ${slowest.length} (1 %)`, slowest);
  // Between p95 and p99: the requests that make the p99, without the rare stalls
  // (a busy machine, a long GC) that dominate the slowest 1 %.
  const band = byTotal.slice(Math.floor(lines.length / 100), Math.max(Math.floor(lines.length / 100) + 1, Math.floor(lines.length / 20)));
  printHops(`\nthe ${band.length} between p95 and p99`, band);
  process.stdout.write('\nGC pauses (recorded by the nodes while tracing):\n');
  printPauses('all', lines, pauses);
  printPauses('slowest 1 %', slowest, pauses);
  printPauses('p95-p99', band, pauses);
  printPauses('fastest half', byTotal.slice(Math.floor(lines.length / 2)), pauses);
}

function printHops(title: string, lines: Timeline[]): void {
  const hops = new Map<string, number[]>();
  for (const t of lines) for (const [name, us] of t) (hops.get(name) ?? hops.set(name, []).get(name)!).push(us);
  const rows = [...hops.entries()]
    .map(([name, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { name, n: values.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
    })
    .sort((a, b) => a.p50 - b.p50);
  process.stdout.write(`${title}; µs since the request reached the leader (L) or a follower (F, the first one)\n`);
  process.stdout.write(`${'point'.padEnd(28)} ${'n'.padStart(7)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(28)} ${String(r.n).padStart(7)} ${r.p50.toFixed(0).padStart(8)} ${r.p99.toFixed(0).padStart(8)}\n`);
}

main();
