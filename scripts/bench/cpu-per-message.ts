// CPU per message, split by hop: the leader, each follower, the load generator. A
// regression in one hop (say the followers' apply) shows in its own column instead of
// hiding in a cluster-wide total. Pure, so the accounting is tested without a cluster.
import type { CpuReport } from './cpu.js';
import { formatNumber, formatTable } from './table.js';

/** One measured run as the per-message accounting needs it. */
export interface CpuRun {
  cpu: CpuReport;
  /** Messages the run moved, in the scenario's unit (sent, drained, delivered). */
  messages: number;
  /** The node that led when the run started; the other nodes count as its followers. */
  leaderId?: string;
}

export interface CpuPerMessage {
  messages: number;
  /** CPU µs per message of the node that led (NaN when a run did not know its leader). */
  leaderUs: number;
  /** Per follower rank (followers ordered by node id within each run), µs per message. */
  followersUs: number[];
  /** All server processes together. */
  serversUs: number;
  loadGenUs: number;
  /** Busy time of the machine that neither the servers nor the load generator used. */
  otherUs: number;
  /** The nodes that led, one entry per distinct leader over the runs. */
  leaders: string[];
  /** The node ids at each follower rank, distinct over the runs. */
  followers: string[][];
}

const distinctPush = (list: string[], id: string) => {
  if (!list.includes(id)) list.push(id);
};

/** Sums the CPU of several runs and divides by the messages they moved; undefined without messages. */
export function cpuPerMessage(runs: readonly CpuRun[]): CpuPerMessage | undefined {
  const messages = runs.reduce((sum, r) => sum + r.messages, 0);
  if (runs.length === 0 || !(messages > 0)) return undefined;
  const perMessageUs = (ms: number) => (ms * 1000) / messages;
  const rolesKnown = runs.every((r) => r.leaderId !== undefined && r.cpu.serversMs[r.leaderId] !== undefined);
  let leaderMs = 0, serversMs = 0, loadGenMs = 0, otherMs = 0;
  const followerMs: number[] = [];
  const leaders: string[] = [];
  const followers: string[][] = [];
  for (const run of runs) {
    serversMs += run.cpu.serversTotalMs;
    loadGenMs += run.cpu.loadGenMs;
    otherMs += run.cpu.otherMs;
    if (!rolesKnown) continue;
    const leaderId = run.leaderId!;
    leaderMs += run.cpu.serversMs[leaderId];
    distinctPush(leaders, leaderId);
    const others = Object.keys(run.cpu.serversMs).filter((id) => id !== leaderId).sort();
    others.forEach((id, rank) => {
      followerMs[rank] = (followerMs[rank] ?? 0) + run.cpu.serversMs[id];
      followers[rank] ??= [];
      distinctPush(followers[rank], id);
    });
  }
  return {
    messages,
    leaderUs: rolesKnown ? perMessageUs(leaderMs) : Number.NaN,
    followersUs: followerMs.map(perMessageUs),
    serversUs: perMessageUs(serversMs),
    loadGenUs: perMessageUs(loadGenMs),
    otherUs: perMessageUs(otherMs),
    leaders,
    followers,
  };
}

/** "48 (n1)": µs per message and the node(s) it was measured on. */
export function roleCell(us: number | undefined, ids: readonly string[] | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return '-';
  return ids === undefined || ids.length === 0 ? formatNumber(us) : `${formatNumber(us)} (${ids.join(',')})`;
}

export interface CpuTableRow {
  label: string;
  /** What one "message" is in this row, e.g. "sent", "drained". */
  unit: string;
  cpu: CpuPerMessage | undefined;
}

/** The per-hop table: a row per scenario, µs of CPU per message in each column. */
export function cpuPerMessageTable(rows: readonly CpuTableRow[]): string {
  const followerColumns = Math.max(2, ...rows.map((r) => r.cpu?.followersUs.length ?? 0));
  const headers = ['scenario', 'per message', 'leader', ...Array.from({ length: followerColumns }, (_, i) => `follower ${i + 1}`), 'servers', 'load gen', 'other'];
  const cells = rows.map((r) => {
    const c = r.cpu;
    if (c === undefined) return [r.label, r.unit, '-', ...Array.from({ length: followerColumns }, () => '-'), '-', '-', '-'];
    return [
      r.label,
      `${r.unit} (${formatNumber(c.messages)})`,
      roleCell(c.leaderUs, c.leaders),
      ...Array.from({ length: followerColumns }, (_, i) => roleCell(c.followersUs[i], c.followers[i])),
      formatNumber(c.serversUs),
      formatNumber(c.loadGenUs),
      formatNumber(c.otherUs),
    ];
  });
  return formatTable(headers, cells, ['left', 'left', 'right', ...Array.from({ length: followerColumns }, (): 'right' => 'right'), 'right', 'right', 'right']);
}
