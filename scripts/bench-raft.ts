// Throughput of the pure Raft core: 3 nodes, in-memory network and storage, every
// Ready handled the way the driver does (persist, send, apply, advance). Prints
// committed entries per second and heap bytes allocated per entry for batches of 1
// and 64 proposals of 100 bytes. `make bench-raft` (options: --seconds N).
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryLogStore } from '../src/raft/storage/memory-log-store.js';
import { RawNode } from '../src/raft/raw-node.js';
import type { Message, NodeId } from '../src/raft/types.js';
import { SeededRng } from './sim/rng.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg >= 0 ? Number(process.argv[secondsArg + 1]) : 3;
const PAYLOAD = 100;

class BenchCluster {
  readonly ids: NodeId[] = ['n1', 'n2', 'n3'];
  readonly stores = new Map<NodeId, MemoryLogStore>();
  readonly nodes = new Map<NodeId, RawNode>();
  readonly applied = new Map<NodeId, number>();
  private queue: Message[] = [];
  leader: NodeId = '';
  committedOnLeader = 0;

  constructor() {
    const rng = new SeededRng(42);
    for (const id of this.ids) {
      const store = new MemoryLogStore({ voters: this.ids });
      this.stores.set(id, store);
      this.applied.set(id, 0);
      this.nodes.set(
        id,
        new RawNode(
          {
            id,
            electionTicks: 10,
            heartbeatTicks: 1,
            preVote: true,
            checkQuorum: true,
            maxInflightMessages: 256,
            maxMessageBytes: 1 << 20,
            snapshotChunkBytes: 1 << 16,
            rng: rng.fork(),
          },
          store,
        ),
      );
    }
    this.nodes.get('n1')!.campaign();
    this.settle();
    this.leader = this.ids.find((id) => this.nodes.get(id)!.status().role === 'leader')!;
    if (!this.leader) throw new Error('no leader');
  }

  /** Handles every Ready and delivers every message until the cluster is quiet. */
  settle(): void {
    for (;;) {
      let busy = false;
      for (const id of this.ids) {
        const node = this.nodes.get(id)!;
        while (node.hasReady()) {
          busy = true;
          const rd = node.ready();
          this.stores.get(id)!.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
          for (const m of rd.messages) this.queue.push(m);
          const n = rd.committedEntries.length;
          if (n > 0) {
            this.applied.set(id, rd.committedEntries[n - 1].index);
            if (id === this.leader) this.committedOnLeader += n;
          }
          node.advance(rd);
        }
      }
      if (this.queue.length === 0 && !busy) return;
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) this.nodes.get(m.to)!.step(m);
    }
  }

  /** Keeps memory flat over a long run, as the application's snapshots would. */
  compact(): void {
    for (const id of this.ids) {
      const store = this.stores.get(id)!;
      const index = Math.min(this.applied.get(id)!, store.lastIndex());
      if (index > store.firstIndex()) {
        store.compact({ meta: { index, term: store.term(index), conf: { voters: this.ids } }, data: new Uint8Array(0) });
      }
    }
  }
}

function payloads(batch: number): Uint8Array[] {
  return Array.from({ length: batch }, (_, i) => new Uint8Array(PAYLOAD).fill(i & 0xff));
}

/** Committed entries per second over SECONDS of proposing `batch` entries per round. */
function throughput(batch: number): number {
  const c = new BenchCluster();
  const leader = c.nodes.get(c.leader)!;
  const datas = payloads(batch);
  // Warm up the JIT.
  for (let i = 0; i < 2000; i++) {
    leader.proposeMany(datas);
    c.settle();
  }
  const before = c.committedOnLeader;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(SECONDS * 1e9));
  let rounds = 0;
  for (;;) {
    leader.proposeMany(datas);
    c.settle();
    if (++rounds % 256 === 0) {
      c.compact();
      if (process.hrtime.bigint() >= until) break;
    }
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return (c.committedOnLeader - before) / secs;
}

/** Heap bytes allocated per committed entry, sampled between forced GCs (samples
 *  during which a GC ran are discarded, since the delta would undercount). */
function bytesPerEntry(batch: number): number {
  const c = new BenchCluster();
  const leader = c.nodes.get(c.leader)!;
  const datas = payloads(batch);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const samples: number[] = [];
  const roundsPerSample = Math.max(1, Math.floor(2000 / batch));
  for (let s = 0; s < 40 && samples.length < 20; s++) {
    c.compact();
    gc();
    const gcsBefore = gcs;
    const heapBefore = process.memoryUsage().heapUsed;
    const entriesBefore = c.committedOnLeader;
    for (let i = 0; i < roundsPerSample; i++) {
      leader.proposeMany(datas);
      c.settle();
    }
    const heapAfter = process.memoryUsage().heapUsed;
    if (gcs === gcsBefore && s >= 3) samples.push((heapAfter - heapBefore) / (c.committedOnLeader - entriesBefore));
  }
  obs.disconnect();
  if (samples.length === 0) return NaN;
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

console.log(`raft core bench: 3 nodes, in-memory network and storage, ${PAYLOAD}-byte proposals, ${SECONDS}s per run, node ${process.version}`);
for (const batch of [1, 64]) {
  const rate = throughput(batch);
  const bytes = bytesPerEntry(batch);
  console.log(
    `batch ${String(batch).padStart(2)}: ${Math.round(rate).toLocaleString('en-US').padStart(11)} committed entries/s, ` +
      `~${Number.isNaN(bytes) ? '?' : Math.round(bytes).toLocaleString('en-US')} heap bytes allocated per entry (all 3 replicas; payload buffers are reused, not counted)`,
  );
}
