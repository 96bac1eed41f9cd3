// CPU accounting. The servers, the load generator and whatever else runs on the machine
// share two cores, so every run records who used the CPU: each server process from
// /proc/<pid>/stat, the load generator from process.cpuUsage(), the whole machine from
// /proc/stat. What is left over belongs to other processes; a run where they took a
// large share is marked, because its figures understate the broker.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Share of the machine's CPU capacity other processes may take before a run is marked. */
export const OTHER_SHARE_LIMIT = 0.2;

/** utime + stime of one process, in clock ticks, from the text of /proc/<pid>/stat. */
export function parseProcessTicks(statText: string): number {
  // The command name (field 2) is in parentheses and may hold spaces or ')'.
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc/<pid>/stat: ${statText.slice(0, 80)}`);
  return utime + stime;
}

/** Busy and total ticks of the whole machine from the first line of /proc/stat. */
export function parseMachineTicks(procStatText: string): { busy: number; total: number } {
  const line = procStatText.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no cpu line in /proc/stat');
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

let clockTicksPerSecond: number | undefined;
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

export interface CpuSample {
  atMs: number;
  /** CPU ms per server, keyed by node id; undefined when the process is gone. */
  servers: Record<string, number | undefined>;
  loadGenMs: number;
  machineBusyMs: number;
}

export interface CpuReport {
  wallMs: number;
  cores: number;
  /** CPU ms used by each server during the span (a node killed meanwhile counts what it used until its last sample). */
  serversMs: Record<string, number>;
  serversTotalMs: number;
  loadGenMs: number;
  /** Machine busy time not explained by the servers and the load generator. */
  otherMs: number;
  /** otherMs as a share of the machine's capacity (cores x wall time). */
  otherShare: number;
  /** Set when other processes took more than OTHER_SHARE_LIMIT of the machine. */
  contended: boolean;
}

function readTicksMs(path: string): number | undefined {
  try {
    return (parseProcessTicks(readFileSync(path, 'utf8')) * 1000) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

export function sampleCpu(serverPids: Record<string, number | undefined>): CpuSample {
  const servers: Record<string, number | undefined> = {};
  for (const [id, pid] of Object.entries(serverPids)) servers[id] = pid === undefined ? undefined : readTicksMs(`/proc/${pid}/stat`);
  const usage = process.cpuUsage();
  let machineBusyMs: number;
  try {
    machineBusyMs = (parseMachineTicks(readFileSync('/proc/stat', 'utf8')).busy * 1000) / ticksPerSecond();
  } catch {
    machineBusyMs = Number.NaN;
  }
  return { atMs: performance.now(), servers, loadGenMs: (usage.user + usage.system) / 1000, machineBusyMs };
}

/** The CPU used between two samples. Pure. */
export function cpuBetween(before: CpuSample, after: CpuSample, cores = cpus().length): CpuReport {
  const wallMs = after.atMs - before.atMs;
  const serversMs: Record<string, number> = {};
  for (const id of Object.keys(before.servers)) {
    const a = before.servers[id];
    const b = after.servers[id];
    serversMs[id] = a === undefined || b === undefined ? 0 : Math.max(0, b - a);
  }
  const serversTotalMs = Object.values(serversMs).reduce((s, v) => s + v, 0);
  const loadGenMs = after.loadGenMs - before.loadGenMs;
  const machineMs = after.machineBusyMs - before.machineBusyMs;
  const otherMs = Number.isFinite(machineMs) ? Math.max(0, machineMs - serversTotalMs - loadGenMs) : 0;
  const capacity = wallMs * cores;
  const otherShare = capacity > 0 ? otherMs / capacity : 0;
  return { wallMs, cores, serversMs, serversTotalMs, loadGenMs, otherMs, otherShare, contended: otherShare > OTHER_SHARE_LIMIT };
}

/** Merges the reports of several runs (sums), so a scenario has one CPU line. */
export function sumCpu(reports: readonly CpuReport[]): CpuReport | undefined {
  if (reports.length === 0) return undefined;
  const serversMs: Record<string, number> = {};
  let wallMs = 0, loadGenMs = 0, otherMs = 0, serversTotalMs = 0;
  for (const r of reports) {
    wallMs += r.wallMs; loadGenMs += r.loadGenMs; otherMs += r.otherMs; serversTotalMs += r.serversTotalMs;
    for (const [id, ms] of Object.entries(r.serversMs)) serversMs[id] = (serversMs[id] ?? 0) + ms;
  }
  const cores = reports[0].cores;
  const otherShare = wallMs > 0 ? otherMs / (wallMs * cores) : 0;
  return { wallMs, cores, serversMs, serversTotalMs, loadGenMs, otherMs, otherShare, contended: reports.some((r) => r.contended) };
}

function statusKb(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes (VmRSS), or undefined when it is gone. */
export function readRssBytes(pid: number): number | undefined {
  return statusKb(pid, 'VmRSS');
}

/** The most resident memory a process has had since it started (VmHWM), in bytes. */
export function readPeakRssBytes(pid: number): number | undefined {
  return statusKb(pid, 'VmHWM');
}
