// `node --import tsx scripts/bench-log-open.ts --phase <build|open|install> --dir D`:
// what a log that retains a large backlog below its snapshot costs to open and to ship.
//   build:   writes --entries N entries of --bytes B (--batch K per save) into a store
//            in D, then snapshots at N keeping every entry (the backlog's retention).
//   open:    opens D --pairs P times each way, alternating (A B, B A, ...): A through
//            the sealed segments' sidecar indexes, B after deleting them (every segment
//            read record by record; that open writes the sidecars again). Prints the
//            times, their medians, and the index memory per entry.
//   install: snapshots D again keeping the last --install-entries M entries, then
//            streams that composite snapshot (1 MiB chunks) into a fresh store beside
//            it through its spool and installs it; prints the stream and install times.
//            Destructive for D (the compaction deletes the segments below the kept ones).
// The page cache is warm (the data was just written or read): the figures are CPU and
// system-call costs, not a cold disk's.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DiskLogStore, SEGMENTS_DIR } from '../src/node/storage/disk-log-store.js';
import { nextChunk, SnapshotReceiver, startStream } from '../src/raft/snapshot-transfer.js';
import type { Entry, Snapshot } from '../src/raft/types.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

const PHASE = arg('phase');
const DIR = arg('dir');
const CONF = { voters: ['n1'] };
const open = () => DiskLogStore.open(DIR, { nodeId: 'n1', conf: CONF });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => Math.round(x * 10) / 10;

async function build(): Promise<void> {
  const n = Number(arg('entries'));
  const bytes = Number(arg('bytes', '1024'));
  const batch = Number(arg('batch', '1000'));
  rmSync(DIR, { recursive: true, force: true });
  const store = await open();
  const data = randomBytes(bytes);
  const t0 = performance.now();
  await store.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [] });
  for (let i = 1; i <= n; i += batch) {
    const ents: Entry[] = [];
    for (let k = i; k < Math.min(n + 1, i + batch); k++) ents.push({ index: k, term: 1, type: 'normal', data });
    await store.save({ entries: ents });
  }
  await store.save({ hardState: { term: 1, vote: 'n1', commit: n }, entries: [] });
  await store.compact({ meta: { index: n, term: 1, conf: CONF }, data: randomBytes(1024 * 1024) }, 1);
  await store.close();
  console.log(JSON.stringify({ phase: 'build', entries: n, bytes, batch, seconds: ms((performance.now() - t0) / 1000) }));
}

/** Bytes the in-memory index holds (its arrays), and the entries it holds. */
function indexMemory(store: DiskLogStore): { bytes: number; entries: number } {
  const index = (store as unknown as { segments: { index: { memoryBytes: number; size: number } } }).segments.index;
  return { bytes: index.memoryBytes, entries: index.size };
}

async function openOnce(withSidecars: boolean): Promise<{ ms: number; scanned: number; first: number; last: number; memory: { bytes: number; entries: number } }> {
  if (!withSidecars) {
    const segDir = join(DIR, SEGMENTS_DIR);
    for (const name of readdirSync(segDir)) if (name.endsWith('.idx')) rmSync(join(segDir, name));
  }
  const t0 = performance.now();
  const store = await open();
  const took = performance.now() - t0;
  const out = { ms: took, scanned: store.scannedSegments.length, first: store.firstIndex(), last: store.lastIndex(), memory: indexMemory(store) };
  // A read of the oldest retained entry: served from its sealed segment.
  store.entries(store.firstIndex(), store.firstIndex() + 1);
  await store.close();
  return out;
}

async function openBench(): Promise<void> {
  const pairs = Number(arg('pairs', '3'));
  const a: number[] = [];
  const b: number[] = [];
  let last: Awaited<ReturnType<typeof openOnce>> | undefined;
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [true, false] : [false, true];
    for (const withSidecars of order) {
      const r = await openOnce(withSidecars);
      (withSidecars ? a : b).push(r.ms);
      if (withSidecars) last = r;
      console.log(JSON.stringify({ phase: 'open', sidecars: withSidecars, ms: ms(r.ms), scannedSegments: r.scanned, firstIndex: r.first, lastIndex: r.last }));
    }
  }
  const mem = last!.memory;
  console.log(
    JSON.stringify({
      phase: 'open-summary',
      medianMsWithSidecars: ms(median(a)),
      medianMsFullScan: ms(median(b)),
      indexBytesPerEntry: ms(mem.bytes / mem.entries),
      indexBytes: mem.bytes,
      entries: mem.entries,
    }),
  );
}

async function install(): Promise<void> {
  const keep = Number(arg('install-entries'));
  const leader = await open();
  const last = leader.lastIndex();
  await leader.save({ hardState: { term: 1, vote: 'n1', commit: last + 1 }, entries: [{ index: last + 1, term: 1, type: 'normal', data: new Uint8Array(8) }] });
  await leader.compact({ meta: { index: last + 1, term: 1, conf: CONF }, data: randomBytes(1024 * 1024) }, last + 2 - keep);
  const followerDir = `${DIR}-follower`;
  rmSync(followerDir, { recursive: true, force: true });
  const follower = await DiskLogStore.open(followerDir, { nodeId: 'n2', conf: CONF });
  try {
    const source = leader.snapshotSource();
    const receiver = new SnapshotReceiver((meta) => follower.snapshotSpool(meta));
    const t0 = performance.now();
    const stream = startStream(source);
    let snapshot: Snapshot | undefined;
    while (!snapshot) {
      const outcome = receiver.accept('n1', 1, nextChunk(stream, 1024 * 1024));
      if (outcome.kind === 'complete') snapshot = outcome.snapshot;
      else if (outcome.kind === 'progress') stream.acked = outcome.received;
      else throw new Error(`the follower asked for a resend from ${outcome.from}`);
    }
    const t1 = performance.now();
    await follower.save({ snapshot, hardState: { term: 1, vote: '', commit: last + 1 }, entries: [] });
    const t2 = performance.now();
    if (follower.firstIndex() !== leader.firstIndex() || follower.lastIndex() !== last + 1) throw new Error('the follower log does not match');
    console.log(
      JSON.stringify({
        phase: 'install',
        entries: keep,
        streamBytes: source.totalBytes,
        streamMs: ms(t1 - t0),
        installMs: ms(t2 - t1),
        mbPerSecond: ms(source.totalBytes / 1e6 / ((t2 - t0) / 1000)),
      }),
    );
  } finally {
    await follower.close();
    await leader.close();
    rmSync(followerDir, { recursive: true, force: true });
  }
}

const phases: Record<string, () => Promise<void>> = { build, open: openBench, install };
const run = phases[PHASE];
if (!run) throw new Error(`--phase is one of ${Object.keys(phases).join(', ')}`);
await run();
