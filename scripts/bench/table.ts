// Plain-text tables for the summary: pure, so the layout is tested without a cluster.

export type Align = 'left' | 'right';

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) => (align[i] === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (cells: readonly string[]) => headers.map((_, i) => cell(cells[i] ?? '', i)).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** 15234.4 -> "15,234"; small values keep precision: 0.8512 -> "0.85". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatWithUnit(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '-';
  switch (unit) {
    case 'msg/s': return `${formatNumber(value)}/s`;
    case 'ms': return `${formatNumber(value)} ms`;
    case 'B': return value >= 10 * 1024 * 1024 ? `${formatNumber(value / (1024 * 1024))} MiB` : `${formatNumber(value)} B`;
    default: return unit === '' ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
  }
}

/** "±3.1%" of a run summary; empty for single runs. */
export function formatSpread(spreadPct: number, runs: number): string {
  if (runs < 2 || !Number.isFinite(spreadPct)) return '';
  return `±${(spreadPct / 2).toFixed(spreadPct / 2 >= 10 ? 0 : 1)}%`;
}

/** Seconds as "4m 12s" or "38.2 s". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
}

/** 1000000 -> "1M", 100000 -> "100k", 30000 -> "30k", 1500 -> "1,500". */
export function formatCount(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 10_000 && n % 1000 === 0) return `${n / 1000}k`;
  return formatNumber(n);
}
