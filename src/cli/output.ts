// What the CLI prints: JSON documents (--json), NDJSON for message streams, and
// aligned text tables for people.
import type { Readable, Writable } from 'node:stream';

export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

export class Output {
  constructor(readonly io: Io, readonly json: boolean) {}

  line(text: string): void {
    this.io.stdout.write(text + '\n');
  }

  /** A whole answer: JSON with --json, else the text form. */
  result(value: unknown, text: () => string | undefined): void {
    if (this.json) this.line(JSON.stringify(value));
    else {
      const t = text();
      if (t !== undefined && t !== '') this.line(t);
    }
  }

  note(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  get stderrIsTty(): boolean {
    return this.io.stderr.isTTY === true;
  }
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}
