// The Ready loop's order of work around its own disk write, with the real core, log
// store and helpers (only the transport and the state machine are the test's): which
// writes may block the event loop (storage/segments/loop-writes.ts), and that what a
// Ready sends is not held back by them.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/node/config.js';
import { encodeEnvelope } from '../../src/node/envelope.js';
import { Inbox } from '../../src/node/inbox.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftMetrics } from '../../src/node/metrics.js';
import { Proposals } from '../../src/node/proposals.js';
import { ReadBarriers } from '../../src/node/read-barriers.js';
import { LIGHT_LOAD_WRITES, ReadyLoop } from '../../src/node/ready-loop.js';
import { Snapshotter } from '../../src/node/snapshotter.js';
import type { StateMachine } from '../../src/node/state-machine.js';
import { DiskLogStore } from '../../src/node/storage/disk-log-store.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { Message } from '../../src/raft/types.js';
import { message } from '../../src/raft/util.js';
import { waitFor } from '../../scripts/lib/local-cluster.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const T = 30_000;
const PEERS = 'n1@127.0.0.1:9001@http://127.0.0.1:8001,n2@127.0.0.1:3@http://127.0.0.1:4,n3@127.0.0.1:5@http://127.0.0.1:6';

interface Harness {
  loop: ReadyLoop;
  raw: RawNode;
  proposals: Proposals;
  /** What happened, in order: 'send <types>', 'turn ended', 'save <n> loop|pool',
   *  'saved <last index>' (a held write let go), 'apply'. */
  order: string[];
  /** The indexes of the commands applied, in order. */
  applied: number[];
  /** From now on saves with entries wait until releaseWrites() (a slow disk). */
  holdWrites(): void;
  releaseWrites(): void;
  sent: Message[];
  /** Whether the loop was polling (ReadyLoop.busyPolling) as it sent each append with entries. */
  pollingAtAppend: boolean[];
  stop(): Promise<void>;
}

async function harness(dir: string, flags: string[] = []): Promise<Harness> {
  let held: Array<() => void> = [];
  let holding = false;
  const config = loadConfig(['--data-dir', dir, '--node-id', 'n1', '--peers', PEERS, ...flags], {});
  const store = await DiskLogStore.open(join(dir, 'raft'), { nodeId: 'n1', conf: { voters: ['n1', 'n2', 'n3'] } });
  const order: string[] = [];
  const applied: number[] = [];
  const save = store.save.bind(store);
  store.save = (batch, mayBlock) => {
    if (batch.entries.length > 0) order.push(`save ${batch.entries.length} ${mayBlock ? 'loop' : 'pool'}`);
    if (!holding || batch.entries.length === 0) return save(batch, mayBlock);
    return new Promise<void>((resolve) => held.push(resolve)).then(() => {
      order.push(`saved ${batch.entries.at(-1)!.index}`);
      return save(batch, mayBlock);
    });
  };
  const raw = new RawNode(
    { id: 'n1', electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: true, maxInflightMessages: 64, maxMessageBytes: 1 << 20, snapshotChunkBytes: 1 << 20, rng: { int: () => 0 } },
    store,
  );
  const metrics = new RaftMetrics(new Registry());
  const stateMachine: StateMachine = {
    apply: (_command, at) => {
      order.push('apply');
      applied.push(at.index);
      return undefined;
    },
    snapshot: () => new Uint8Array(0),
    restore: () => {},
    stateHash: () => '',
  };
  let loop: ReadyLoop | undefined;
  const snapshotter = new Snapshotter({
    config, store, stateMachine, logger: silentLogger(), metrics,
    term: () => loop!.term,
    halted: () => loop!.halted,
    fatal: (err) => {
      throw err;
    },
  });
  const sent: Message[] = [];
  const pollingAtAppend: boolean[] = [];
  const proposals = new Proposals(metrics);
  let fatal: unknown;
  loop = new ReadyLoop({
    config, stateMachine, logger: silentLogger(), metrics, raw, store,
    inbox: new Inbox(raw),
    proposals,
    reads: new ReadBarriers(),
    snapshotter,
    send: (msgs) => {
      sent.push(...msgs);
      if (msgs.some((m) => m.type === 'append' && m.entries.length > 0)) pollingAtAppend.push(loop!.busyPolling);
      order.push(`send ${[...new Set(msgs.map((m) => m.type))].join(',')}`);
      // What a transport writes in this turn goes to the socket at its end.
      setImmediate(() => order.push('turn ended'));
    },
    leaderError: () => new Error('no leader'),
    failAll: () => {},
    fatal: (err) => (fatal = err),
    emit: () => {},
  });
  const running = loop.run();
  const l = loop;
  return {
    loop: l, raw, proposals, order, sent, applied, pollingAtAppend,
    holdWrites() {
      holding = true;
    },
    releaseWrites() {
      holding = false;
      const waiting = held;
      held = [];
      for (const release of waiting) release();
    },
    async stop() {
      l.halt();
      await running;
      await store.close();
      expect(fatal).toBeUndefined();
    },
  };
}

const data = (n: number) => encodeEnvelope(2, n, Date.now(), Uint8Array.of(n));
const until = (h: Harness, what: string, pred: () => boolean) => waitFor(async () => (pred() ? true : undefined), 10_000, () => `${what}; order ${h.order.join(' | ')}`, 5);

/** Makes n1 leader (n2 votes for it) and commits its empty entry with n2; `checkFirstWrite`
 *  sees the order of work up to the leader's first write. Returns the term. */
async function elect(h: Harness, checkFirstWrite: (order: string[]) => void = () => {}): Promise<number> {
  h.raw.campaign();
  h.loop.kick();
  await until(h, 'the vote requests', () => h.sent.some((m) => m.type === 'vote'));
  const term = h.loop.term;
  h.loop.receive([message('voteResp', 'n2', 'n1', term)]);
  await until(h, "the leader's first write", () => h.order.some((o) => o.startsWith('save')));
  checkFirstWrite(h.order);
  h.loop.receive([message('appendResp', 'n2', 'n1', term, { index: 1 })]);
  await until(h, 'the commit of the empty entry', () => h.loop.commitIndex >= 1);
  return term;
}

describe('ReadyLoop', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-ready-loop-');
  });
  afterEach(() => removeDir(dir));

  test("a follower writes a small append on the loop, and its answer reaches the socket before it applies what the same Ready committed; a big one, or one while many entries are not committed, through the pool", async () => {
    const h = await harness(dir);
    try {
      h.loop.receive([message('append', 'n2', 'n1', 2, { index: 0, logTerm: 0, commit: 0, entries: [{ term: 2, index: 1, type: 'normal', data: data(1) }] })]);
      await until(h, 'the first answer', () => h.sent.some((m) => m.type === 'appendResp' && m.index === 1));
      h.order.length = 0;
      // Entry 2, and the news that entry 1 (already durable here) is committed.
      h.loop.receive([message('append', 'n2', 'n1', 2, { index: 1, logTerm: 2, commit: 1, entries: [{ term: 2, index: 2, type: 'normal', data: data(2) }] })]);
      await until(h, 'the apply', () => h.order.includes('apply'));
      // The answer's turn ends (its frame reaches the socket) before the applies run.
      expect(h.order.slice(0, 4)).toEqual(['save 1 loop', 'send appendResp', 'turn ended', 'apply']);

      // A bigger append (load) goes through the pool, and what was committed before it
      // (entry 2) is applied while the disk syncs.
      h.order.length = 0;
      const n = LIGHT_LOAD_WRITES + 1;
      const entries = Array.from({ length: n }, (_, i) => ({ term: 2, index: 3 + i, type: 'normal' as const, data: data(3 + i) }));
      h.loop.receive([message('append', 'n2', 'n1', 2, { index: 2, logTerm: 2, commit: 2, entries })]);
      await until(h, 'the answer to the big append', () => h.sent.some((m) => m.type === 'appendResp' && m.index === 2 + n));
      expect(h.order.slice(0, 3)).toEqual([`save ${n} pool`, 'apply', 'send appendResp']);

      // One more entry, with more than LIGHT_LOAD_WRITES not yet committed: still load.
      h.order.length = 0;
      const next = 3 + n;
      h.loop.receive([message('append', 'n2', 'n1', 2, { index: next - 1, logTerm: 2, commit: 2, entries: [{ term: 2, index: next, type: 'normal', data: data(next) }] })]);
      await until(h, 'the answer to the last append', () => h.sent.some((m) => m.type === 'appendResp' && m.index === next));
      expect(h.order[0]).toBe('save 1 pool');
    } finally {
      await h.stop();
    }
  }, T);

  test('a leader sends its appends, then writes through the pool, small Ready or big: its loop stays free for requests and answers', async () => {
    const h = await harness(dir);
    try {
      await elect(h, (order) => {
        // Elected: the leader's empty entry goes to n2 and n3 and to its own log.
        const sentAt = order.findIndex((o) => o.startsWith('send append'));
        expect(order.slice(sentAt, sentAt + 2)).toEqual(['send append', 'save 1 pool']);
      });

      h.order.length = 0;
      h.raw.proposeMany(Array.from({ length: LIGHT_LOAD_WRITES + 1 }, (_, i) => data(10 + i)));
      h.loop.kick();
      await until(h, 'the big write', () => h.order.some((o) => o.startsWith('save')));
      expect(h.order.slice(0, 2)).toEqual(['send append', `save ${LIGHT_LOAD_WRITES + 1} pool`]);
    } finally {
      await h.stop();
    }
  }, T);

  test('a leader at light load polls instead of sleeping while its proposals wait for their answers; not under load, and not once answered', async () => {
    // 100 ms of polling at most: the loop must still be polling when it sends.
    const h = await harness(dir, ['--leader-busy-poll-us', '100000']);
    try {
      const term = await elect(h);
      h.pollingAtAppend.length = 0;
      const one = h.proposals.enqueue(Uint8Array.of(1));
      h.loop.kick();
      await until(h, 'the append of entry 2', () => h.pollingAtAppend.length === 1);
      expect(h.pollingAtAppend).toEqual([true]);
      h.loop.receive([message('appendResp', 'n2', 'n1', term, { index: 2 })]);
      await one;
      // Nothing waits any more: the loop goes back to sleeping.
      await until(h, 'the end of polling', () => !h.loop.busyPolling);

      // More proposals waiting than light load allows: the loop sleeps between events.
      const many = Array.from({ length: 5 }, (_, i) => h.proposals.enqueue(Uint8Array.of(10 + i)));
      h.loop.kick();
      await until(h, 'the append of entries 3-7', () => h.pollingAtAppend.length === 2);
      expect(h.pollingAtAppend).toEqual([true, false]);
      h.loop.receive([message('appendResp', 'n2', 'n1', term, { index: 7 })]);
      await Promise.all(many);
    } finally {
      await h.stop();
    }
  }, T);

  test("a leader whose own write is slow applies what both followers made durable meanwhile, before its disk returns, and once", async () => {
    const h = await harness(dir);
    try {
      const term = await elect(h);

      h.holdWrites();
      h.order.length = 0;
      h.raw.proposeMany([data(2)]);
      h.loop.kick();
      await until(h, 'the write of entry 2', () => h.order.includes('save 1 pool'));
      // One follower is not enough while the leader's own write has not returned.
      h.loop.receive([message('appendResp', 'n2', 'n1', term, { index: 2 })]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(h.applied).toEqual([]);
      // The second follower makes a majority without the leader's disk.
      h.loop.receive([message('appendResp', 'n3', 'n1', term, { index: 2 })]);
      await until(h, 'the apply of entry 2', () => h.applied.includes(2));
      expect(h.order).not.toContain('saved 2');
      expect(h.loop.applied).toBe(2);

      h.releaseWrites();
      await until(h, 'the write of entry 2', () => h.order.includes('saved 2'));
      h.raw.proposeMany([data(3)]);
      h.loop.kick();
      await until(h, 'the write of entry 3', () => h.order.includes('saved 3') || h.order.filter((o) => o === 'save 1 pool').length === 2);
      h.loop.receive([message('appendResp', 'n2', 'n1', term, { index: 3 })]);
      await until(h, 'the apply of entry 3', () => h.applied.includes(3));
      // Entry 2 was applied once, the next one after it, in order.
      expect(h.applied).toEqual([2, 3]);
    } finally {
      h.releaseWrites();
      await h.stop();
    }
  }, T);
});
