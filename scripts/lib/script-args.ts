// Command-line options and the GC hook of the standalone benchmark scripts
// (scripts/bench-*.ts): `--name value` pairs and `node --expose-gc`.

/** The value after `name` on the command line, or `dflt`. */
export function argValue(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** The number after `name` on the command line, or `dflt`. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** `gc()` of `node --expose-gc`; without the flag the script says so and exits 2. */
export function exposedGc(howToRun = 'run with node --expose-gc'): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.error(howToRun);
    process.exit(2);
  }
  return gc;
}
