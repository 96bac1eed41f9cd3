// `node --import tsx scripts/bench-log-store.ts`: the cost of the durable log's write
// path alone, per layout: CPU microseconds per entry and wall milliseconds per synced
// save, for batches of 1, 22 and 100 entries of 1 KiB (a lone send, a busy Ready, a
// batched send). Layouts: the segment files (this build's default), one LevelDB key
// per entry (earlier builds), and a tuned LevelDB variant (one value per Ready, the
// batch's encoded entries concatenated; written directly, as the store would).
// Options: --seconds N per case (default 2), --bytes N per entry.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import { DiskLogStore } from '../src/node/storage/disk-log-store.js';
import { encodeEntry } from '../src/node/storage/codec.js';
import type { Entry } from '../src/raft/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const SECONDS = Number(arg('seconds', '2'));
const BYTES = Number(arg('bytes', '1024'));
const BATCHES = [1, 22, 100];
const makeTempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });
const data = randomBytes(BYTES);

interface Row {
  layout: string;
  batch: number;
  saves: number;
  cpuUsPerEntry: number;
  msPerSave: number;
}

async function measure(layout: string, batch: number, save: (ents: Entry[]) => Promise<void>): Promise<Row> {
  let index = 0;
  const next = (): Entry[] => Array.from({ length: batch }, () => ({ index: ++index, term: 1, type: 'normal' as const, data }));
  for (let i = 0; i < 20; i++) await save(next()); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let saves = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await save(next());
    saves++;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { layout, batch, saves, cpuUsPerEntry: (cpu.user + cpu.system) / (saves * batch), msPerSave: wall / saves };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const batch of BATCHES) {
    for (const layout of ['segments', 'leveldb'] as const) {
      const dir = makeTempDir('mom-bench-log-');
      const store = await DiskLogStore.open(dir, { nodeId: 'n1', conf: { voters: ['n1'] }, entryLayout: layout });
      try {
        rows.push(await measure(layout === 'leveldb' ? 'leveldb, a key per entry' : 'segment files', batch, (entries) => store.save({ entries })));
      } finally {
        await store.close();
        removeDir(dir);
      }
    }
    const dir = makeTempDir('mom-bench-log-');
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open({ writeBufferSize: 32 * 1024 * 1024, compression: false });
    try {
      const key = new Uint8Array(9);
      const view = new DataView(key.buffer);
      rows.push(
        await measure('leveldb, a value per Ready', batch, async (entries) => {
          const parts = entries.map(encodeEntry);
          const value = Buffer.concat(parts);
          view.setFloat64(1, entries[0].index);
          await db.put(key.slice(), value, { sync: true });
        }),
      );
    } finally {
      await db.close();
      removeDir(dir);
    }
  }
  process.stdout.write(`durable log write path, ${BYTES} B entries, ${SECONDS} s per case, one synced save at a time\n`);
  process.stdout.write('layout                       | batch | saves | cpu us/entry | ms/save\n');
  process.stdout.write('-----------------------------+-------+-------+--------------+--------\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.layout.padEnd(28)} | ${String(r.batch).padStart(5)} | ${String(r.saves).padStart(5)} | ${r.cpuUsPerEntry.toFixed(1).padStart(12)} | ${r.msPerSave.toFixed(3).padStart(7)}\n`,
    );
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench-log-store: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
