// A progress bar on stderr: redrawn in place on a terminal, one line per step otherwise
// (CI logs), so a long run always shows what it is doing.

export function renderBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty = process.stderr.isTTY === true;
  private lastLength = 0;

  /** Shows `label` with a bar that `fraction()` feeds, until `done()`. */
  start(label: string, fraction: () => number, detail: () => string = () => ''): { done(summary?: string): void } {
    this.stop();
    if (!this.tty) process.stderr.write(`  ${label} ...\n`);
    const draw = () => this.draw(`  ${label.padEnd(34)} ${renderBar(fraction(), 24)} ${detail()}`);
    if (this.tty) {
      draw();
      this.timer = setInterval(draw, 200);
      this.timer.unref();
    }
    return {
      done: (summary?: string) => {
        if (this.tty) draw();
        this.stop();
        if (this.tty) process.stderr.write('\n');
        if (summary !== undefined) process.stderr.write(`    ${summary}\n`);
      },
    };
  }

  log(line: string): void {
    if (this.tty && this.timer !== undefined) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${line}\n`);
  }

  private draw(text: string): void {
    const columns = process.stderr.columns ?? 120;
    const line = text.length > columns - 1 ? text.slice(0, columns - 1) : text;
    process.stderr.write(`\r${line}${' '.repeat(Math.max(0, this.lastLength - line.length))}`);
    this.lastLength = line.length;
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.lastLength = 0;
  }
}

/** A Progress whose bars name who runs, e.g. "this broker: run 1/3". */
export class PrefixedProgress extends Progress {
  constructor(private readonly prefix: string) {
    super();
  }

  override start(label: string, fraction: () => number, detail?: () => string): { done(summary?: string): void } {
    return super.start(`${this.prefix}${label}`, fraction, detail);
  }
}
