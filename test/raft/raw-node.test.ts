import { Cluster } from './harness.js';

describe('RawNode basics', () => {
  test('a three-node cluster elects exactly one leader', () => {
    const c = new Cluster();
    const leader = c.waitLeader();
    const term = c.node(leader).status().term;
    const leaders = c.ids.filter((id) => {
      const st = c.node(id).status();
      return st.role === 'leader' && st.term === term;
    });
    expect(leaders).toEqual([leader]);
    for (const id of c.ids) expect(c.node(id).status().leaderId).toBe(leader);
  });

  test('a proposal on the leader commits and applies on every node', () => {
    const c = new Cluster();
    const leader = c.waitLeader();
    expect(c.propose(leader, 'hello')).toBe(true);
    c.tick(2);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(['hello']);
  });

  test('propose on a follower is refused', () => {
    const c = new Cluster();
    const leader = c.waitLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    expect(c.propose(follower, 'x')).toBe(false);
  });

  test('proposeMany commits a batch in order', () => {
    const c = new Cluster();
    const leader = c.waitLeader();
    const batch = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`m${i}`));
    expect(c.node(leader).proposeMany(batch)).toBe(true);
    c.deliver();
    c.tick(2);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(batch.map((_, i) => `m${i}`));
  });

  test('a single-node cluster elects itself and commits', () => {
    const c = new Cluster({ ids: ['solo'] });
    const leader = c.waitLeader();
    expect(leader).toBe('solo');
    c.propose('solo', 'a');
    c.tick();
    expect(c.appliedData('solo')).toEqual(['a']);
  });

  test('status reports per-peer progress on the leader', () => {
    const c = new Cluster();
    const leader = c.waitLeader();
    c.propose(leader, 'x');
    c.tick(2);
    const st = c.node(leader).status();
    expect(st.role).toBe('leader');
    expect(Object.keys(st.progress!).sort()).toEqual(c.ids);
    for (const id of c.ids) {
      expect(st.progress![id].match).toBe(st.lastIndex);
      expect(st.progress![id].state).toBe('replicate');
    }
  });
});
