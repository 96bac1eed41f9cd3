// The Ready loop's order of work around a send, with the real core, log store and
// helpers (only the transport and the state machine are the test's): what it sends
// leaves before the rest of the Ready's work, because Node's HTTP/2 sessions write what
// was sent at the end of the turn, and work left in the turn would delay the frame.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/node/config.js';
import { encodeEnvelope } from '../../src/node/envelope.js';
import { Inbox } from '../../src/node/inbox.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftMetrics } from '../../src/node/metrics.js';
import { Proposals } from '../../src/node/proposals.js';
import { ReadBarriers } from '../../src/node/read-barriers.js';
import { ReadyLoop } from '../../src/node/ready-loop.js';
import { Snapshotter } from '../../src/node/snapshotter.js';
import type { StateMachine } from '../../src/node/state-machine.js';
import { DiskLogStore } from '../../src/node/storage/disk-log-store.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { Message } from '../../src/raft/types.js';
import { message } from '../../src/raft/util.js';
import { waitFor } from '../../scripts/lib/local-cluster.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const T = 30_000;

describe('ReadyLoop', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('mom-ready-loop-');
  });
  afterEach(() => removeDir(dir));

  test("a follower's answer leaves before it applies what the same Ready committed", async () => {
    const config = loadConfig(['--data-dir', dir, '--node-id', 'n1', '--peers', 'n1@127.0.0.1:9001@http://127.0.0.1:8001,n2@127.0.0.1:3@http://127.0.0.1:4,n3@127.0.0.1:5@http://127.0.0.1:6'], {});
    const voters = ['n1', 'n2', 'n3'];
    const store = await DiskLogStore.open(join(dir, 'raft'), { nodeId: 'n1', conf: { voters } });
    const raw = new RawNode(
      { id: 'n1', electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, maxInflightMessages: 64, maxMessageBytes: 1 << 20, snapshotChunkBytes: 1 << 20, rng: { int: () => 0 } },
      store,
    );
    const metrics = new RaftMetrics(new Registry());
    const order: string[] = [];
    const stateMachine: StateMachine = {
      apply: () => {
        order.push('apply');
        return undefined;
      },
      snapshot: () => new Uint8Array(0),
      restore: () => {},
      stateHash: () => '',
    };
    let loop: ReadyLoop | undefined;
    const snapshotter = new Snapshotter({
      config,
      store,
      stateMachine,
      logger: silentLogger(),
      metrics,
      term: () => loop!.term,
      halted: () => loop!.halted,
      fatal: (err) => {
        throw err;
      },
    });
    const sent: Message[] = [];
    let fatal: unknown;
    loop = new ReadyLoop({
      config,
      stateMachine,
      logger: silentLogger(),
      metrics,
      raw,
      store,
      inbox: new Inbox(raw),
      proposals: new Proposals(metrics),
      reads: new ReadBarriers(),
      snapshotter,
      send: (msgs) => {
        sent.push(...msgs);
        order.push('send');
        // What a transport writes in this turn goes to the socket at its end.
        setImmediate(() => order.push('turn ended'));
      },
      leaderError: () => new Error('no leader'),
      failAll: () => {},
      fatal: (err) => (fatal = err),
      emit: () => {},
    });
    const running = loop.run();
    try {
      // n2 leads term 2 and sends one entry, already committed.
      const data = encodeEnvelope(2, 1, Date.now(), Uint8Array.of(1));
      loop.receive([message('append', 'n2', 'n1', 2, { index: 0, logTerm: 0, commit: 1, entries: [{ term: 2, index: 1, type: 'normal', data }] })]);
      await waitFor(async () => (order.includes('apply') ? true : undefined), 10_000, () => `order ${order.join(', ')}`);
      expect(fatal).toBeUndefined();
      expect(sent.some((m) => m.type === 'appendResp' && m.to === 'n2' && m.index === 1)).toBe(true);
      expect(order.slice(0, 3)).toEqual(['send', 'turn ended', 'apply']);
    } finally {
      loop.halt();
      await running;
      await store.close();
    }
  }, T);
});
