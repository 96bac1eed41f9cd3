// Three RaftNodes in this process, each link through a TCP proxy the test can cut:
// what callers see when leadership is lost, and the Forward path.
import { Registry } from 'prom-client';
import { freePort, waitFor } from '../../scripts/lib/local-cluster.js';
import { loadConfig } from '../../src/node/config.js';
import { NoLeaderError, NotLeaderError, ProposalOutcomeUnknownError } from '../../src/node/errors.js';
import { silentLogger } from '../../src/node/logger.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { encodePut, KvStateMachine } from '../../scripts/kv/state-machine.js';
import { LinkMesh } from '../../scripts/chaos/proxy.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

const T = 60_000;
const IDS = ['n1', 'n2', 'n3'];

/** The node's next write of entries takes `ms` longer: a disk that stalls once. */
function stallNextWrite(node: RaftNode, ms: number): { started(): boolean; restore(): void } {
  const store = (node as unknown as { store: { save(u: { entries: unknown[] }): Promise<void> } }).store;
  const save = store.save.bind(store);
  let stalled = false;
  store.save = async (update) => {
    if (!stalled && update.entries.length > 0) {
      stalled = true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return save(update);
  };
  return { started: () => stalled, restore: () => void (store.save = save) };
}

describe('RaftNode, three in one process', () => {
  const nodes = new Map<string, RaftNode>();
  let mesh: LinkMesh;
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir('mom-trio-');
    const grpc = new Map<string, string>();
    for (const id of IDS) grpc.set(id, `127.0.0.1:${await freePort()}`);
    mesh = await LinkMesh.prepare(IDS.length);
    for (const id of IDS) {
      const peers = IDS.map((p) => `${p}@${p === id ? grpc.get(p) : mesh.peerAddress(id, p, grpc.get(p)!)}@http://${p}.invalid:80`);
      const config = loadConfig(
        ['--node-id', id, '--peers', peers.join(','), '--grpc-listen', grpc.get(id)!, '--data-dir', `${dir}/${id}`, '--tick-ms', '20', '--election-ticks', '10'],
        {},
      );
      nodes.set(id, await RaftNode.start({ config, stateMachine: new KvStateMachine(), logger: silentLogger(), registry: new Registry() }));
    }
  }, T);

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await mesh?.close();
    removeDir(dir);
  }, T);

  const leaderNow = () =>
    waitFor(
      async () => {
        const leaders = [...nodes.values()].filter((n) => n.status().role === 'leader' && n.isReady());
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      20_000,
      () => JSON.stringify([...nodes.values()].map((n) => n.status().role)),
    );

  test('a follower names the leader; forward() reaches the leader handler', async () => {
    const leader = await leaderNow();
    await leader.propose(encodePut('a', Buffer.from('1')));
    const follower = [...nodes.values()].find((n) => n !== leader)!;
    await waitFor(async () => (follower.status().leaderId === leader.id ? true : undefined), 10_000, () => 'follower never learned the leader');
    const err = await follower.propose(encodePut('b', Buffer.from('1'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(leader.id);
    expect((err as NotLeaderError).leaderHttpUrl).toBe(`http://${leader.id}.invalid:80`);

    // Linearizable reads: a barrier on the leader passes once it applied the confirmed index.
    await leader.readBarrier();
    expect(leader.status().appliedIndex).toBeGreaterThanOrEqual(leader.status().commitIndex);
    await expect(follower.readBarrier()).rejects.toBeInstanceOf(NotLeaderError);

    leader.setForwardHandler(async (payload) => Buffer.concat([Buffer.from(`${leader.id}:`), payload]));
    const answer = await follower.forward(Buffer.from('hello'), 5000);
    expect(Buffer.from(answer).toString()).toBe(`${leader.id}:hello`);
  }, T);

  test('a follower whose disk write stalls past the election timeout does not campaign: the heartbeats that came meanwhile count', async () => {
    const leader = await leaderNow();
    await leader.propose(encodePut('warm', Buffer.from('1')));
    const follower = [...nodes.values()].find((n) => n !== leader)!;
    const term = follower.status().term;
    const roles: string[] = [];
    const onRole = (role: string) => roles.push(role);
    follower.on('roleChange', onRole);
    // Before ordering ticks among messages, the ticks of the stall were counted first:
    // the follower briefly became a pre-candidate and asked for pre-votes, and when
    // both followers stalled together they could elect a new leader.
    const sent: string[] = [];
    const transport = (follower as unknown as { transport: { send(m: { type: string }[]): void } }).transport;
    const send = transport.send.bind(transport);
    transport.send = (msgs) => {
      for (const m of msgs) sent.push(m.type);
      send(msgs);
    };
    // One write of this follower takes 1 s, five times the election timeout (10 ticks
    // of 20 ms); the leader keeps heartbeating it all along.
    const stall = stallNextWrite(follower, 1000);
    try {
      await leader.propose(encodePut('slow-disk', Buffer.from('1')));
      await waitFor(async () => (stall.started() ? true : undefined), 5000, () => 'the follower never wrote');
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      stall.restore();
      transport.send = send;
      follower.off('roleChange', onRole);
    }
    expect(sent.filter((t) => t === 'preVote' || t === 'vote')).toEqual([]);
    expect(roles).toEqual([]);
    expect(follower.status().term).toBe(term);
    expect(follower.status().leaderId).toBe(leader.id);
  }, T);

  test('a leader whose disk write stalls past the election timeout keeps its followers: it heartbeats while it waits', async () => {
    await expectNoElectionWhileStalled((leader) => [leader], async (leader, stalls) => {
      // The followers hold it, so it commits while the leader's own copy is still being written.
      await leader.propose(encodePut('slow-leader-disk', Buffer.from('1')));
      expect(stalls[0].started()).toBe(true);
      await new Promise((r) => setTimeout(r, 1200));
    });
  }, T);

  test('followers whose disk writes stall together do not make the leader fail check-quorum: they answer heartbeats while they write', async () => {
    const followersOf = (leader: RaftNode) => [...nodes.values()].filter((n) => n !== leader);
    await expectNoElectionWhileStalled(followersOf, async (leader, stalls) => {
      // Nobody can acknowledge it for a second: the proposal waits, the leader stays.
      const slow = leader.propose(encodePut('slow-follower-disks', Buffer.from('1')));
      await waitFor(async () => (stalls.every((s) => s.started()) ? true : undefined), 5000, () => 'the followers never wrote');
      await slow;
      await new Promise((r) => setTimeout(r, 500));
    });
  }, T);

  /** Stalls one write of each of `victims` for 1 s while `during` runs: no node may
   *  change role or term, and the leader stays leader. */
  async function expectNoElectionWhileStalled(
    victims: (leader: RaftNode) => RaftNode[],
    during: (leader: RaftNode, stalls: ReturnType<typeof stallNextWrite>[]) => Promise<void>,
  ): Promise<void> {
    const leader = await leaderNow();
    await leader.propose(encodePut(`warm-${Date.now()}`, Buffer.from('1')));
    const term = leader.status().term;
    const roles: string[] = [];
    const listeners = [...nodes.values()].map((n) => {
      const listener = (role: string) => roles.push(`${n.id}:${role}`);
      n.on('roleChange', listener);
      return () => n.off('roleChange', listener);
    });
    const stalls = victims(leader).map((n) => stallNextWrite(n, 1000));
    try {
      await during(leader, stalls);
    } finally {
      for (const s of stalls) s.restore();
      for (const off of listeners) off();
    }
    expect(roles).toEqual([]);
    for (const n of nodes.values()) expect(n.status().term).toBe(term);
    expect(leader.status().role).toBe('leader');
  }

  test('a leader cut off from its followers fails its pending proposals as outcome-unknown and steps down', async () => {
    const leader = await leaderNow();
    mesh.isolate(leader.id);
    try {
      const pending = leader.propose(encodePut('in-doubt', Buffer.from('1')));
      const err = await pending.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProposalOutcomeUnknownError);
      // Check-quorum: it is no longer leader, so new writes are refused, never falsely acknowledged.
      const next = await leader.propose(encodePut('after', Buffer.from('1'))).catch((e: unknown) => e);
      expect(next instanceof NoLeaderError || next instanceof NotLeaderError).toBe(true);
      // The other two elect a new leader among themselves.
      await waitFor(
        async () => ([...nodes.values()].some((n) => n !== leader && n.status().role === 'leader') ? true : undefined),
        20_000,
        () => 'no new leader in the majority',
      );
    } finally {
      mesh.healAll();
    }
    await leaderNow();
  }, T);
});
