// The end-of-run summary table a person reads (the JSON file is for machines).
import type { ChaosReport } from './run.js';

function gracefulStops(r: ChaosReport): string {
  const rolling = r.faults.filter((f) => f.kind === 'rolling-restart');
  const forced = rolling.reduce((a, f) => a + (f.forcedStops ?? 0), 0);
  const total = rolling.reduce((a, f) => a + f.nodes.length, 0);
  return total === 0 ? 'n/a' : `${total - forced}/${total} finished within the launcher's grace; ${forced} were SIGKILLed`;
}

function recovery(r: ChaosReport): string {
  const byKind = new Map<string, number>();
  for (const f of r.faults) {
    if (f.healedAt === undefined || f.endedAt === undefined) continue;
    byKind.set(f.kind, Math.max(byKind.get(f.kind) ?? 0, f.endedAt - f.healedAt));
  }
  return [...byKind].map(([k, ms]) => `${k} ${ms} ms`).join(', ') || 'n/a';
}

export function formatSummary(r: ChaosReport): string {
  const c = r.check;
  const a = c.availability;
  const t = c.totals;
  const faults = Object.entries(r.faultCounts).map(([k, n]) => `${k} ${n}`).join(', ');
  const conv = r.convergence;
  const commit = conv.nodes.map((n) => `${n.nodeId}:${n.commitIndex}`).join(' ');
  const rows: [string, string][] = [
    ['run', `seed ${r.seed} · ${r.nodes} nodes · ${(r.durationMs / 1000).toFixed(0)} s faults · ${(r.timeline.endMs / 1000).toFixed(0)} s total`],
    ['faults', `${r.faults.length} (${faults || 'none'})${r.faults.some((f) => f.error) ? ` · ${r.faults.filter((f) => f.error).length} failed to inject` : ''}`],
    ['failover', Object.entries(r.failover).map(([k, f]) => `${k} ${f.maxMs} ms`).join(', ') + ' (max time from fault start to the next acked write)'],
    ['graceful stops', gracefulStops(r)],
    ['back to ready', recovery(r) + ' (max time from healing a fault to the node answering /ready)'],
    ['operations', `${a.operations} · ok ${a.ok} · failed ${a.fail} · unknown ${a.info} · ${(a.okFraction * 100).toFixed(1)}% ok`],
    ['writes', `${t.attemptedWrites} messages · acked ${t.acknowledged} · unknown ${t.unknown} · failed ${t.failed}`],
    ['deliveries', `${t.deliveries} · redeliveries ${t.redeliveries} (lease expired)`],
    ['lost', String(t.lost)],
    ['unexpected', String(t.unexpected)],
    ['true duplicates', String(t.trueDuplicates)],
    ['failed yet delivered', String(t.failedButDelivered)],
    ['redelivered after ack', String(t.redeliveredAfterAck)],
    ['recovered', `${t.recovered} (unknown outcome, delivered)`],
    ['order violations', `${t.orderViolations} (${t.orderChecked} first deliveries had a provably earlier message to compare with)`],
    ['longest write gap', `${a.longestWriteGapMs} ms (from ${(a.longestWriteGapFrom / 1000).toFixed(1)} s to ${(a.longestWriteGapTo / 1000).toFixed(1)} s)`],
    ['drain', r.drain.drained ? `complete (${r.drain.targets} targets, ${r.drain.emptyPerLeader ? 'leader reports all empty' : 'all quiet for a lease'})` : `INCOMPLETE (${r.drain.quietTargets}/${r.drain.targets} quiet)`],
    ['left in broker', r.residual === undefined ? 'could not read' : Object.entries(r.residual).filter(([, s]) => s.ready + s.inflight + s.delayed !== 0).map(([t, s]) => `${t} ready ${s.ready} inflight ${s.inflight} delayed ${s.delayed}`).join('; ') || 'nothing (every queue and subscription empty)'],
    ['convergence', `${conv.converged ? 'yes' : 'NO'} · commit ${commit || '?'} · state hash ${conv.hashExposed ? 'compared' : 'not exposed by the API'}`],
    ['replica state', r.stateAgreement.agreed ? `identical on every node at applied index ${r.stateAgreement.appliedIndex} (queues, topics, subscriptions via stale reads)` : 'DIFFERENT or never sampled at one applied index'],
    ['verdict', r.valid ? 'PASS' : `FAIL: ${r.violations.join('; ')}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const targetHeader = `${'target'.padEnd(22)} ${'acked'.padStart(7)} ${'unknown'.padStart(7)} ${'delivered'.padStart(9)} ${'lost'.padStart(5)} ${'unexp'.padStart(5)} ${'dups'.padStart(5)} ${'redel'.padStart(6)} ${'order'.padStart(5)}`;
  const targetRows = c.targets.map((x) => `${x.target.padEnd(22)} ${String(x.acknowledged).padStart(7)} ${String(x.unknown).padStart(7)} ${String(x.deliveredDistinct).padStart(9)} ${String(x.lost.length).padStart(5)} ${String(x.unexpected.length).padStart(5)} ${String(x.trueDuplicates.length).padStart(5)} ${String(x.redeliveries).padStart(6)} ${String(x.orderViolations).padStart(5)}`);
  const files = [`results  ${r.resultsFile}`, `history  ${r.historyFile}`];
  if (!r.valid) files.push(`logs     ${r.dataRoot} (node-N.log, data dirs)`);
  return [...lines, '', targetHeader, ...targetRows, '', ...files].join('\n');
}
