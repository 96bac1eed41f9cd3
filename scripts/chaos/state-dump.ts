// What a stuck chaos run prints when a phase overruns its deadline (phase-deadline.ts):
// enough to tell a client that never reconnects from a consumer waiting for a delivery,
// a producer stuck on flow control, a node that never elects or a drain that never ends.
// Every read here is bounded: the dump itself must not hang.
import { open } from 'node:fs/promises';

import type { ClusterControl } from './cluster-control.js';
import type { FaultRunner } from './fault-runner.js';
import type { HistoryRecorder } from './history.js';
import type { BrokerHttpClient } from './http-client.js';
import type { LinkMesh } from './proxy.js';
import type { FaultEpisode } from './schedule.js';
import type { StreamClientState } from '../../src/client/stream.js';

export interface StateSources {
  phase: string;
  budgetMs: number;
  /** ms since the run started. */
  clock: () => number;
  nodeIds: readonly string[];
  cluster: ClusterControl | undefined;
  client: BrokerHttpClient | undefined;
  mesh: LinkMesh;
  plan: readonly FaultEpisode[];
  faults: FaultRunner | undefined;
  history: HistoryRecorder;
  /** The workload's stream clients by name (none for the REST workload). */
  streamClients: () => Array<{ name: string; state: StreamClientState }>;
}

const STATUS_TIMEOUT_MS = 1_000;
const LOG_TAIL_LINES = 25;
const LOG_TAIL_BYTES = 16_384;
const LOG_LINE_CHARS = 400;
const IN_FLIGHT_SHOWN = 20;

export async function dumpState(s: StateSources): Promise<string> {
  const now = s.clock();
  const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const out: string[] = [`=== chaos state at ${sec(now)}: phase '${s.phase}' ran past its ${sec(s.budgetMs)} deadline ===`];

  out.push('--- nodes (GET /v1/cluster; no answer: down, paused or stuck) ---');
  const held = s.faults?.held;
  if (held) out.push(`held by faults: faulty [${held.faulty.join(', ')}], paused [${held.paused.join(', ')}], killed [${held.down.join(', ')}]`);
  const statuses = await Promise.all(s.nodeIds.map(async (id) => {
    if (!s.cluster || !s.client) return undefined;
    return s.client.getNode(s.cluster.httpUrl(id), '/v1/cluster', STATUS_TIMEOUT_MS);
  }));
  s.nodeIds.forEach((id, i) => {
    const r = statuses[i];
    out.push(`${id}: ${r === undefined ? 'no answer' : r.status !== 200 ? `HTTP ${r.status} ${JSON.stringify(r.body)}` : nodeLine(r.body)}`);
  });
  const links = s.mesh.faultsNow();
  out.push(`links with faults now: ${Object.keys(links).length === 0 ? 'none' : JSON.stringify(links)}`);
  const exits = s.cluster?.unexpectedExits() ?? [];
  if (exits.length > 0) out.push(`exited on their own: ${JSON.stringify(exits)}`);

  const records = s.faults?.records ?? [];
  out.push(`--- faults: ${records.length} of ${s.plan.length} planned started ---`);
  for (const r of records) {
    const times = [`at ${sec(r.startedAt)}`, r.healedAt !== undefined ? `healed ${sec(r.healedAt)}` : 'not healed', r.endedAt !== undefined ? `ended ${sec(r.endedAt)}` : 'not ended'];
    out.push(`#${r.id} ${r.kind} on [${r.nodes.join(', ')}] ${times.join(', ')}${r.detail ? `; ${r.detail}` : ''}${r.error ? `; error: ${r.error}` : ''}`);
  }

  const clients = s.streamClients();
  if (clients.length > 0) {
    out.push('--- stream clients ---');
    for (const { name, state } of clients) out.push(...clientLines(name, state, sec));
  }

  const open = s.history.inFlight();
  out.push(`--- operations in flight (invoked, not completed): ${open.length} ---`);
  for (const o of open.slice(0, IN_FLIGHT_SHOWN)) out.push(`${o.process} ${o.f} #${o.opId} since ${sec(o.time)} (${sec(now - o.time)} ago)`);
  if (open.length > IN_FLIGHT_SHOWN) out.push(`... and ${open.length - IN_FLIGHT_SHOWN} more`);
  const c = s.history.counts;
  out.push(`completed so far: ok ${c.ok}, fail ${c.fail}, info ${c.info}`);

  for (const id of s.nodeIds) {
    const file = s.cluster?.logFile(id);
    if (file === undefined) continue;
    out.push(`--- ${id} log, last ${LOG_TAIL_LINES} lines (${file}) ---`);
    out.push(...(await tail(file).catch((err: unknown) => [`(unreadable: ${String(err)})`])));
  }
  return out.join('\n');
}

function nodeLine(body: unknown): string {
  if (typeof body !== 'object' || body === null) return JSON.stringify(body);
  const b = body as Record<string, unknown>;
  const peers = Array.isArray(b.nodes)
    ? (b.nodes as Array<Record<string, unknown>>).map((n) => `${String(n.id)}${n.matchIndex !== undefined ? ` match ${String(n.matchIndex)}` : ''}${n.lastContactMs !== undefined ? ` heard ${String(n.lastContactMs)} ms ago` : ''}`).join('; ')
    : '';
  return `${String(b.role)} term ${String(b.term)} leader ${String(b.leaderId)} commit ${String(b.commitIndex)} applied ${String(b.appliedIndex)}${peers ? ` | ${peers}` : ''}`;
}

function clientLines(name: string, s: StreamClientState, sec: (ms: number) => string): string[] {
  const ago = (ms: number | undefined): string => (ms === undefined ? 'never' : `${sec(ms)} ago`);
  const lines = [
    `${name}: node ${s.node ?? '?'}, socket ${s.socket}${s.live ? ' (live)' : ''}${s.reconnecting ? ', reconnecting' : ''}, reconnects ${s.reconnects}` +
      `${s.closed ? `, gave up: ${s.closed}` : ''}; pending ${s.pending} (unconfirmed ${s.unconfirmed}/${s.maxUnconfirmed}, ${s.waitingForRoom} waiting for room)` +
      `${s.oldestPending ? `, oldest: ${s.oldestPending.op} id ${String(s.oldestPending.id)} for ${sec(s.oldestPending.ageMs)}` : ''}` +
      `; connected ${ago(s.msSinceConnected)}, last frame in ${ago(s.msSinceFrameIn)}, out ${ago(s.msSinceFrameOut)}`,
  ];
  for (const c of s.consumers) {
    const target = 'queue' in c.target ? `queue ${c.target.queue}` : `${c.target.topic}/${c.target.subscription}`;
    lines.push(`  consumer ${String(c.id)} on ${target}: ${c.started ? 'started' : 'not started'}${c.ended ? ', ended' : ''}${c.cancelled ? ', cancelled' : ''}` +
      `, prefetch ${c.prefetch ?? 'default'}, delivered ${c.delivered}, settled ${c.settled} (credit used ${c.delivered - c.settled}), buffered ${c.buffered}, last delivery ${ago(c.msSinceDelivery)}`);
  }
  return lines;
}

async function tail(file: string): Promise<string[]> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
    if (length < size) lines.shift(); // cut mid-line
    return lines.slice(-LOG_TAIL_LINES).map((l) => (l.length > LOG_LINE_CHARS ? `${l.slice(0, LOG_LINE_CHARS)}…` : l));
  } finally {
    await fh.close();
  }
}
