// Relocation on a real node (src/broker/README.md, Relocation): one message left unacked
// while many later ones are sent and acked; after the leader's relocation and a
// snapshot, the log no longer starts at the old message's send, and receiving it still
// answers its body (read from the relocate entry).
import { Registry } from 'prom-client';
import { freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { Broker, encodeCommand, type Command, type CommandResult } from '../../src/broker/index.js';
import { loadConfig } from '../../src/node/config.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { Relocator } from '../../src/node/relocator.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const T = 90_000;
const SNAPSHOT_EVERY = 50;
const RELOCATE_AFTER = 100;

async function firstIndex(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('mom_raft_log_first_index')!.get()).values[0].value;
}

describe('relocation on a node', () => {
  let dir: string;
  let node: RaftNode | undefined;
  beforeEach(() => {
    dir = makeTempDir('mom-node-relocate-');
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    removeDir(dir);
  });

  test('a long-lived message stops pinning the log once relocated; its body is still answered', async () => {
    const grpc = await freePort();
    const config = loadConfig(
      [
        '--data-dir', dir, '--grpc-listen', `127.0.0.1:${grpc}`, '--tick-ms', '10', '--election-ticks', '5',
        '--snapshot-every', String(SNAPSHOT_EVERY), '--snapshot-retain-entries', '5', '--snapshot-log-percent', '0',
        '--relocate-after-entries', String(RELOCATE_AFTER),
      ],
      {},
    );
    const broker = new Broker();
    const registry = new Registry();
    const n = await RaftNode.start({ config, stateMachine: broker, logger: silentLogger(), registry });
    node = n;
    await waitFor(async () => (n.status().role === 'leader' && n.isReady() ? true : undefined), 10_000, () => JSON.stringify(n.status()));
    const run = async <T = any>(c: Command): Promise<T> => {
      const r = (await n.propose(encodeCommand(c))) as CommandResult;
      if (!r.ok) throw new Error(`${c.type}: ${JSON.stringify(r.error)}`);
      return r.value as T;
    };
    const relocator = new Relocator({ node: n, stateMachine: broker, logger: silentLogger(), afterEntries: RELOCATE_AFTER, checkMs: 1000 });

    await run({ type: 'user.register', username: 'alice', passwordHash: 'h' });
    await run({ type: 'queue.create', user: 'alice', name: 'old' });
    await run({ type: 'queue.create', user: 'alice', name: 'busy' });
    await run({ type: 'queue.send', user: 'alice', queue: 'old', batch: false, messages: [{ body: 'kept for days', attributes: { a: '1' } }] });
    const oldAt = n.appliedIndex();
    const churn = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        await run({ type: 'queue.send', user: 'alice', queue: 'busy', batch: false, messages: [{ body: `m${i}` }] });
        const got = await run<{ messages: { receiptHandle: string }[] }>({ type: 'queue.receive', user: 'alice', queue: 'busy', max: 1 });
        await run({ type: 'queue.ack', user: 'alice', queue: 'busy', receiptHandles: got.messages.map((m) => m.receiptHandle) });
      }
    };
    await churn(100);
    // Snapshots were taken, but the old send pins the log.
    expect(await firstIndex(registry)).toBeLessThanOrEqual(oldAt);
    expect(broker.retainFrom()).toBe(oldAt);

    expect(await relocator.check()).toBe(1);
    const relocatedAt = broker.retainFrom()!;
    expect(relocatedAt).toBeGreaterThan(oldAt + 3 * 100 - 5);
    // Nothing more is due: the only live body is now recent.
    expect(await relocator.check()).toBe(0);

    await churn(2 * SNAPSHOT_EVERY);
    await waitFor(async () => ((await firstIndex(registry)) > oldAt + 250 ? true : undefined), 20_000, () => `log still starts at ${oldAt}`);
    expect(await firstIndex(registry)).toBeLessThanOrEqual(relocatedAt);
    expect(n.readCommand(oldAt)).toBeUndefined();

    const got = await run<{ messages: { id: string; body: string; attributes: Record<string, string> }[] }>(
      { type: 'queue.receive', user: 'alice', queue: 'old', max: 10 },
    );
    expect(got.messages.map((m) => [m.id, m.body, m.attributes])).toEqual([[`${oldAt.toString(36)}-0`, 'kept for days', { a: '1' }]]);
  }, T);
});
