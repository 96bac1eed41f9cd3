import { Cluster } from './harness.js';

// The classic Raft cases, one story each. Cluster drives every RawNode the way the
// real driver does (persist, send, apply, advance) over a scriptable network.

const enc = (s: string) => new TextEncoder().encode(s);
const terms = (c: Cluster) => c.ids.map((id) => c.node(id).status().term);

describe('Raft scenarios', () => {
  test('initial election: one leader, everyone follows it, its no-op commits', () => {
    const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed: 7 });
    const leader = c.waitLeader();
    c.tick(3);
    const term = c.node(leader).status().term;
    for (const id of c.ids) {
      const st = c.node(id).status();
      expect(st.term).toBe(term);
      expect(st.leaderId).toBe(leader);
      expect(st.role).toBe(id === leader ? 'leader' : 'follower');
      expect(st.commit).toBe(1); // the leader's no-op
    }
  });

  test('re-election after leader loss: the survivors elect a new leader and keep committing', () => {
    const c = new Cluster({ seed: 2 });
    const first = c.waitLeader();
    c.propose(first, 'before');
    c.tick(2);
    const oldTerm = c.node(first).status().term;
    c.crash(first);
    const second = c.waitLeader();
    expect(second).not.toBe(first);
    expect(c.node(second).status().term).toBeGreaterThan(oldTerm);
    c.propose(second, 'after');
    c.tick(2);
    for (const id of c.ids.filter((x) => x !== first)) expect(c.appliedData(id)).toEqual(['before', 'after']);
  });

  test('no leader without a majority, and terms do not run away (pre-vote)', () => {
    const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed: 3 });
    const leader = c.waitLeader();
    const others = c.ids.filter((id) => id !== leader);
    c.crash(leader);
    c.crash(others[0]);
    c.crash(others[1]);
    const before = terms(c);
    c.tick(300);
    expect(c.leader()).toBeUndefined();
    expect(terms(c)).toEqual(before); // pre-votes fail, so nobody bumps its term
    c.restart(others[0]);
    const next = c.waitLeader();
    expect([others[0], others[2], others[3]]).toContain(next);
  });

  test('agreement with one follower down; it catches up when it returns', () => {
    const c = new Cluster({ seed: 4 });
    const leader = c.waitLeader();
    const [down, up] = c.ids.filter((id) => id !== leader);
    c.crash(down);
    for (const s of ['a', 'b', 'c']) expect(c.propose(leader, s)).toBe(true);
    c.tick(2);
    expect(c.appliedData(leader)).toEqual(['a', 'b', 'c']);
    expect(c.appliedData(up)).toEqual(['a', 'b', 'c']);
    c.restart(down);
    c.tick(5);
    expect(c.appliedData(down)).toEqual(['a', 'b', 'c']);
  });

  test('no commit without a majority; the entry commits once the majority is back', () => {
    const c = new Cluster({ seed: 5 });
    const leader = c.waitLeader();
    c.tick(2);
    const commit = c.node(leader).status().commit;
    const followers = c.ids.filter((id) => id !== leader);
    for (const f of followers) c.crash(f);
    c.propose(leader, 'needs-a-majority');
    c.tick(3);
    expect(c.node(leader).status().commit).toBe(commit);
    expect(c.appliedData(leader)).toEqual([]);
    c.restart(followers[0]);
    c.tick(3);
    expect(c.node(leader).status().role).toBe('leader');
    expect(c.appliedData(leader)).toEqual(['needs-a-majority']);
  });

  test('concurrent proposals: followers refuse, the leader orders all, every node applies the same order', () => {
    const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed: 6 });
    const leader = c.waitLeader();
    const accepted: string[] = [];
    for (let round = 0; round < 20; round++) {
      for (const id of c.ids) {
        const s = `${id}-${round}`;
        // Proposals arrive without waiting for the previous ones to commit.
        if (c.node(id).propose(enc(s))) accepted.push(s);
        else expect(id).not.toBe(leader);
      }
      if (round % 3 === 0) c.tick();
    }
    c.tick(3);
    expect(accepted).toHaveLength(20);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(accepted);
  });

  test('a partitioned old leader with uncommitted entries rejoins and they are replaced', () => {
    const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed: 8, checkQuorum: false });
    c.elect('n1');
    c.propose('n1', 'committed');
    c.tick(2);
    // n1 and n2 are cut off from the majority; n1 still believes it leads.
    for (const a of ['n1', 'n2']) for (const b of ['n3', 'n4', 'n5']) {
      c.cut.add(`${a}->${b}`);
      c.cut.add(`${b}->${a}`);
    }
    c.propose('n1', 'lost-1');
    c.propose('n1', 'lost-2');
    c.tick(2);
    expect(c.node('n2').status().lastIndex).toBe(c.node('n1').status().lastIndex); // replicated to n2 only
    c.elect('n3');
    c.propose('n3', 'new-leader');
    c.tick(2);
    expect(c.node('n1').status().role).toBe('leader'); // stale, in a lower term
    c.heal();
    c.tick(5);
    expect(c.node('n1').status().role).toBe('follower');
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(['committed', 'new-leader']);
  });

  test('backing up quickly over hundreds of conflicting entries', () => {
    const c = new Cluster({ seed: 9, checkQuorum: false });
    c.elect('n1');
    c.tick(2);
    c.isolate('n1');
    // 300 entries that will never commit pile up on the isolated old leader.
    for (let i = 0; i < 300; i++) c.node('n1').propose(enc(`stale-${i}`));
    c.deliver();
    c.elect('n2');
    for (let i = 0; i < 300; i++) c.node('n2').propose(enc(`fresh-${i}`));
    c.tick(3);
    // A third leader starts probing n1 at the end of its own long log.
    c.elect('n3');
    c.tick(2);
    c.delivered = [];
    c.heal();
    c.tick(5);
    const fresh = Array.from({ length: 300 }, (_, i) => `fresh-${i}`);
    expect(c.appliedData('n1')).toEqual(fresh);
    // The follower's hint skips the whole divergent term at once: one or two
    // rejections instead of ~300 one-entry steps back.
    const rejections = c.count('appendResp', (m) => m.from === 'n1' && m.reject);
    expect(rejections).toBeGreaterThanOrEqual(1);
    expect(rejections).toBeLessThanOrEqual(2);
  });

  test('Figure 8: an old-term entry on a majority is not committed by counting', () => {
    // 5 nodes; appends carry one 10-byte entry each so a follower can match a prefix.
    const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed: 10, checkQuorum: false, preVote: false, maxMessageBytes: 5 });
    c.elect('n1');
    c.tick(2); // the no-op (index 1) is everywhere
    // (a) n1 (term 1) replicates x at index 2 to n2 only, then crashes.
    for (const b of ['n3', 'n4', 'n5']) c.cut.add(`n1->${b}`);
    c.propose('n1', 'x-10bytes!');
    expect(c.node('n2').status().lastIndex).toBe(2);
    c.crash('n1');
    c.heal();
    // (b) n5 wins term 2 with n3 and n4 and appends its no-op at index 2, unreplicated; crashes.
    c.dropIf = (m) => m.from === 'n5' && m.type === 'append';
    c.elect('n5');
    expect(c.node('n5').status().term).toBe(2);
    c.crash('n5');
    c.dropIf = undefined;
    // (c) n1 restarts and wins term 3; it spreads x (term 1) to n3 and n4 but no node
    // accepts anything of term 3 (appends that would are lost).
    c.restart('n1');
    c.dropIf = (m) =>
      m.from === 'n1' && m.type === 'append' && m.entries.some((e) => e.index >= 3) && c.node(m.to).status().lastIndex >= 2;
    c.elect('n1');
    expect(c.node('n1').status().term).toBe(3);
    c.tick(2);
    for (const id of ['n1', 'n2', 'n3']) expect(c.node(id).status().lastIndex).toBeGreaterThanOrEqual(2);
    // x is on a majority but it is from term 1: counting must not commit it.
    expect(c.node('n1').status().commit).toBe(1);
    // (d) and indeed: n1 crashes, n5 returns, wins term 4 and overwrites index 2.
    c.crash('n1');
    c.dropIf = undefined;
    c.restart('n5');
    c.elect('n5');
    c.tick(3);
    for (const id of ['n2', 'n3', 'n4', 'n5']) {
      expect(c.appliedData(id)).toEqual([]); // x was never applied anywhere
      expect(c.node(id).status().commit).toBeGreaterThanOrEqual(3);
    }
    c.restart('n1');
    c.tick(5);
    expect(c.appliedData('n1')).toEqual([]);
    expect(c.stores.get('n1')!.term(2)).toBe(2); // n5's entry replaced x
  });

  test('every node crashes and restarts: committed entries survive and replay in order', () => {
    const c = new Cluster({ seed: 11 });
    const leader = c.waitLeader();
    for (const s of ['one', 'two', 'three']) c.propose(leader, s);
    c.tick(2);
    const term = c.node(leader).status().term;
    for (const id of c.ids) c.crash(id);
    c.queue = []; // everything in flight is gone too
    for (const id of c.ids) c.restart(id);
    const next = c.waitLeader();
    expect(c.node(next).status().term).toBeGreaterThan(term);
    c.propose(next, 'four');
    c.tick(3);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(['one', 'two', 'three', 'four']);
  });

  test('snapshot install: a follower behind the compaction point gets the snapshot in chunks', () => {
    const c = new Cluster({ seed: 12, snapshotChunkBytes: 32 });
    const leader = c.waitLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.crash(lagging);
    const data = Array.from({ length: 40 }, (_, i) => `entry-${i}`);
    for (const s of data) c.propose(leader, s);
    c.tick(2);
    const snapIndex = c.compact(leader);
    expect(c.stores.get(leader)!.firstIndex()).toBe(snapIndex + 1);
    c.restart(lagging);
    c.tick(10);
    const chunks = c.count('snapshot', (m) => m.to === lagging);
    expect(chunks).toBeGreaterThan(5); // the ~450-byte state in 32-byte chunks
    expect(c.stores.get(lagging)!.snapshot().meta.index).toBe(snapIndex);
    c.propose(leader, 'after-snapshot');
    c.tick(2);
    expect(c.appliedData(lagging)).toEqual([...data, 'after-snapshot']);
    expect(c.node(leader).status().progress![lagging].state).toBe('replicate');
  });

  test('a follower whose disk was wiped catches up on heartbeats alone, by snapshot when the log was compacted', () => {
    for (const compacted of [false, true]) {
      const c = new Cluster({ seed: 13, snapshotChunkBytes: 64 });
      const leader = c.waitLeader();
      const wiped = c.ids.find((id) => id !== leader)!;
      const data = Array.from({ length: 20 }, (_, i) => `entry-${i}`);
      for (const s of data) c.propose(leader, s);
      c.tick(2);
      expect(c.appliedData(wiped)).toEqual(data);
      if (compacted) c.compact(leader);
      c.wipe(wiped);
      c.restart(wiped);
      // No proposal: the leader learns of the loss from the heartbeat answers.
      c.tick(10);
      expect(c.appliedData(wiped)).toEqual(data);
      expect(c.node(leader).status().progress![wiped].match).toBe(c.stores.get(leader)!.lastIndex());
      expect(c.stores.get(wiped)!.snapshot().meta.index > 0).toBe(compacted);
    }
  });

  test('pre-vote: a rejoining partitioned node does not depose a healthy leader', () => {
    const c = new Cluster({ seed: 13 });
    const leader = c.waitLeader();
    const term = c.node(leader).status().term;
    const loner = c.ids.find((id) => id !== leader)!;
    c.isolate(loner);
    c.tick(100); // many election timeouts alone
    expect(c.node(loner).status().term).toBe(term); // its pre-votes never succeed
    c.heal();
    c.tick(20);
    expect(c.leader()).toBe(leader);
    expect(c.node(leader).status().term).toBe(term);
  });

  test('check-quorum: an isolated leader steps down on its own', () => {
    const c = new Cluster({ seed: 14 });
    const leader = c.waitLeader();
    c.isolate(leader);
    c.tick(25); // more than one election timeout
    expect(c.node(leader).status().role).toBe('follower');
    const others = c.ids.filter((id) => id !== leader);
    expect(others).toContain(c.leader());
  });

  test('stale ReadIndex refused: a deposed leader never answers a read', () => {
    // Without check-quorum the old leader keeps believing it leads.
    const c = new Cluster({ seed: 15, checkQuorum: false });
    c.elect('n1');
    c.tick(2);
    c.isolate('n1');
    c.elect('n2');
    c.propose('n2', 'newer-write');
    c.tick(2);
    expect(c.node('n1').status().role).toBe('leader');
    expect(c.node('n1').readIndex(enc('stale'))).toBe(true); // accepted, but...
    c.tick(30);
    expect(c.readStates.get('n1')).toEqual([]); // ...never confirmed by a quorum
    c.heal();
    c.tick(5);
    expect(c.node('n1').status().role).toBe('follower');
    expect(c.readStates.get('n1')).toEqual([]);
    // The real leader answers, at an index that includes the write.
    expect(c.node('n2').readIndex(enc('fresh'))).toBe(true);
    c.deliver();
    const [rs] = c.readStates.get('n2')!;
    expect(new TextDecoder().decode(rs.context)).toBe('fresh');
    const writeIndex = c.applied.get('n2')!.find((e) => new TextDecoder().decode(e.data) === 'newer-write')!.index;
    expect(rs.index).toBeGreaterThanOrEqual(writeIndex);
  });

  test('ReadIndex on a new leader waits until it commits an entry of its term', () => {
    const c = new Cluster({ seed: 16, checkQuorum: false });
    c.elect('n1');
    c.tick(2);
    c.dropIf = (m) => m.from === 'n2' && m.type === 'append'; // n2's no-op cannot replicate
    c.elect('n2');
    expect(c.node('n2').readIndex(enc('r'))).toBe(true);
    c.tick(3);
    expect(c.readStates.get('n2')).toEqual([]);
    c.dropIf = undefined;
    c.tick(3);
    expect(c.readStates.get('n2')!.map((r) => r.index)).toEqual([c.node('n2').status().commit]);
  });

  test('leader transfer: the target catches up, gets TimeoutNow and wins the next term', () => {
    const c = new Cluster({ seed: 17 });
    const leader = c.waitLeader();
    const target = c.ids.find((id) => id !== leader)!;
    c.crash(target);
    c.propose(leader, 'while-target-down');
    c.tick(2);
    c.restart(target);
    const term = c.node(leader).status().term;
    expect(c.node(leader).transferLeader(target)).toBe(true);
    expect(c.node(leader).propose(enc('during-transfer'))).toBe(false);
    c.deliver();
    c.tick(2);
    expect(c.leader()).toBe(target);
    expect(c.node(target).status().term).toBe(term + 1);
    expect(c.count('timeoutNow')).toBe(1);
    c.propose(target, 'after-transfer');
    c.tick(2);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(['while-target-down', 'after-transfer']);
  });
});

