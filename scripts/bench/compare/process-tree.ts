// The processes a started program left under it, from /proc. RabbitMQ's start script
// runs the Erlang VM (beam.smp), which starts helpers in sessions of their own
// (erl_child_setup, inet_gethost): a process group kill misses them, so the launcher
// records every descendant by pid and start time and ends exactly those.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  /** The command name (at most 15 characters, as the kernel keeps it). */
  comm: string;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid it names one process, never a later one reusing the pid. */
  startTime: number;
}

/** Parses /proc/<pid>/stat. Pure. */
export function parseProcStat(text: string): ProcInfo {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`unexpected /proc/<pid>/stat: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // After ") ": field 3 (state) is rest[0], ppid (4) rest[1], starttime (22) rest[19].
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isFinite(startTime)) throw new Error(`unexpected /proc/<pid>/stat: ${text.slice(0, 80)}`);
  return { pid, comm, ppid, startTime };
}

/** Every process below `rootPid` (children, their children, ...), the root excluded. Pure. */
export function descendantsOf(rootPid: number, all: readonly ProcInfo[]): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid);
    if (list === undefined) byParent.set(p.ppid, [p]);
    else list.push(p);
  }
  const found: ProcInfo[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      if (found.some((f) => f.pid === child.pid)) continue;
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export function readProc(pid: number): ProcInfo | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p !== undefined) out.push(p);
  }
  return out;
}

/** True while the process recorded in `p` still runs (same pid and start time) and is not a zombie. */
export function stillRunning(p: ProcInfo): boolean {
  try {
    const text = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const now = parseProcStat(text);
    const state = text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
    return now.startTime === p.startTime && state !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `signal` to the recorded process if it is still that process. */
export function signalIfRunning(p: ProcInfo, signal: NodeJS.Signals): void {
  if (!stillRunning(p)) return;
  try {
    process.kill(p.pid, signal);
  } catch {
    // Gone meanwhile.
  }
}
