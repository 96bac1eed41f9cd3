// Where the figures come from: the machine, the Node version and the commit measured.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release, platform } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  platform: string;
  kernel: string;
  node: string;
}

export interface CommitInfo {
  commit: string;
  /** Uncommitted changes in src/ when the bench ran. */
  dirty: boolean;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cores: list.length, cpuModel: list[0]?.model ?? 'unknown', memoryBytes: totalmem(), platform: platform(), kernel: release(), node: process.version };
}

export function commitInfo(cwd = process.cwd()): CommitInfo {
  const git = (args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain', '--', 'src']) !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}
