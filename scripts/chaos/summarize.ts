// One line per chaos run from its results JSON: the figures a run's report quotes.
// usage: node --import tsx scripts/chaos/summarize.ts chaos-results/*.json
import { readFileSync } from 'node:fs';

import type { ChaosReport } from './run.js';

export function summaryLine(r: ChaosReport): string {
  const a = r.check.availability;
  const t = r.check.totals;
  const mode = r.leaderMode ?? '';
  return [
    `seed ${String(r.seed).padStart(3)}`,
    `${r.nodes} nodes`,
    `${String(Math.round(r.durationMs / 1000)).padStart(4)} s`,
    mode,
    `faults ${String(r.faults.length).padStart(3)}`,
    `ops ${String(a.operations).padStart(6)} (${(a.okFraction * 100).toFixed(1)}% ok)`,
    `acked ${String(t.acknowledged).padStart(6)}`,
    `lost ${t.lost} unexp ${t.unexpected} dup ${t.trueDuplicates} order ${t.orderViolations}`,
    `recovered ${t.recovered}`,
    `longest gap ${String(a.longestWriteGapMs).padStart(5)} ms`,
    r.valid ? 'PASS' : `FAIL (${r.violations.join('; ')})`,
  ].filter((s) => s !== '').join(' · ');
}

const files = process.argv.slice(2).filter((f) => f.endsWith('.json'));
if (files.length > 0) {
  for (const f of files) {
    const r = JSON.parse(readFileSync(f, 'utf8')) as ChaosReport;
    console.log(summaryLine(r));
  }
}
