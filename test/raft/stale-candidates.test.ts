import { Cluster } from './harness.js';

// Figure 2 of the Raft paper: a follower restarts its election timer only when it hears
// from the current leader or grants a vote. A vote request it refuses (the candidate's
// log is behind) must not restart it, or candidates with stale logs keep postponing the
// one node that could win. Pre-vote hides this, so it is off here.

/** Five nodes; only n2 got the last entries of the crashed leader n1, and with n1 and n5
 *  down, n2 is the only node that can win: n3 and n4 need its vote and it refuses. */
function staleMajority(seed: number): Cluster {
  const c = new Cluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], seed, preVote: false, checkQuorum: false });
  c.elect('n1');
  c.tick(2);
  for (const to of ['n3', 'n4', 'n5']) c.cut.add(`n1->${to}`);
  for (const s of ['a', 'b', 'c']) c.propose('n1', s);
  c.crash('n1');
  c.crash('n5');
  c.heal();
  return c;
}

describe('stale candidates do not postpone the up-to-date node', () => {
  test('the only up-to-date node wins within bounded ticks, and commits what it had', () => {
    const electionTicks = 10; // the harness default
    const bound = 8 * electionTicks;
    const ticksToWin: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const c = staleMajority(seed);
      expect(c.node('n2').status().lastIndex).toBeGreaterThan(c.node('n3').status().lastIndex);
      let ticks = 0;
      while (c.leader() === undefined && ticks < bound) {
        c.tick();
        ticks++;
      }
      if (c.leader() !== 'n2') throw new Error(`seed ${seed}: no leader within ${bound} ticks (terms ${c.ids.map((id) => c.node(id).status().term).join(',')})`);
      ticksToWin.push(ticks);
      c.tick(2);
      for (const id of ['n2', 'n3', 'n4']) expect(c.appliedData(id)).toEqual(['a', 'b', 'c']);
    }
    expect(Math.max(...ticksToWin)).toBeLessThanOrEqual(bound);
  });
});
