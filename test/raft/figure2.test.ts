import { Single, entry } from './single.js';

// Figure 2 of the Raft paper, one test per sentence. The node under test is n1; the
// test plays its peers n2 and n3 by hand.

describe('Figure 2: persistent state', () => {
  test('currentTerm and votedFor reach stable storage before the vote is answered', () => {
    const s = new Single();
    s.node.step({ ...msg('vote', 'n2', 5), index: 0, logTerm: 0 });
    const rd = s.node.ready();
    expect(rd.hardState).toEqual({ term: 5, vote: 'n2', commit: 0 });
    expect(rd.mustSync).toBe(true);
    // A follower's Ready: the driver sends its messages only after the write.
    expect(rd.softState?.role ?? s.node.status().role).toBe('follower');
    expect(rd.messages.map((m) => [m.type, m.reject])).toEqual([['voteResp', false]]);
  });

  test('after a restart the node remembers its vote and refuses another candidate of that term', () => {
    const s = new Single();
    s.step('vote', 'n2', 5);
    s.restart();
    const out = s.step('vote', 'n3', 5);
    expect(out.map((m) => [m.type, m.to, m.reject])).toEqual([['voteResp', 'n3', true]]);
    expect(s.node.status().term).toBe(5);
  });

  test('log entries reach stable storage before the append is acknowledged', () => {
    const s = new Single();
    s.node.step({ ...msg('append', 'n2', 1), index: 0, logTerm: 0, entries: [entry(1, 1)] });
    const rd = s.node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([1]);
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => [m.type, m.index])).toEqual([['appendResp', 1]]);
  });
});

describe('Figure 2: volatile state', () => {
  test('commitIndex and lastApplied restart from disk and committed entries are applied again', () => {
    const s = new Single({ logTerms: [1, 1, 1], hardState: { term: 1, vote: '', commit: 2 } });
    const { committed } = s.drain();
    expect(committed.map((e) => e.index)).toEqual([1, 2]);
    expect(s.node.status().applied).toBe(2);
  });

  test('a new leader sets nextIndex to its last index + 1 and matchIndex to 0 for each follower', () => {
    const s = new Single({ logTerms: [1, 1] });
    s.becomeLeader();
    const st = s.node.status();
    expect(st.progress!.n3).toMatchObject({ match: 0, next: 3 });
  });
});

describe('Figure 2: AppendEntries receiver', () => {
  test('1. reply false if term < currentTerm (the stale leader learns the newer term)', () => {
    const s = new Single({ hardState: { term: 3, vote: '', commit: 0 }, config: { checkQuorum: true } });
    const out = s.step('append', 'n2', 2, { index: 0, logTerm: 0, entries: [entry(1, 2)] });
    expect(out.map((m) => [m.type, m.term])).toEqual([['appendResp', 3]]);
    expect(s.node.status().lastIndex).toBe(0);
  });

  test('2. reply false if the log has no entry at prevLogIndex with prevLogTerm', () => {
    const s = new Single({ logTerms: [1, 1] });
    const out = s.step('append', 'n2', 2, { index: 2, logTerm: 2, entries: [entry(3, 2)] });
    expect(out.map((m) => [m.type, m.reject, m.index])).toEqual([['appendResp', true, 2]]);
    expect(s.logTerms()).toEqual([1, 1]);
  });

  test('3. a conflicting entry and all that follow it are deleted', () => {
    const s = new Single({ logTerms: [1, 1, 1, 1] });
    s.step('append', 'n2', 2, { index: 1, logTerm: 1, entries: [entry(2, 1), entry(3, 2)] });
    expect(s.logTerms()).toEqual([1, 1, 2]);
  });

  test('4. new entries not already in the log are appended (a duplicate changes nothing)', () => {
    const s = new Single({ logTerms: [1] });
    s.step('append', 'n2', 1, { index: 1, logTerm: 1, entries: [entry(2, 1), entry(3, 1)] });
    s.step('append', 'n2', 1, { index: 1, logTerm: 1, entries: [entry(2, 1)] }); // late duplicate
    expect(s.logTerms()).toEqual([1, 1, 1]);
  });

  test('5. commitIndex = min(leaderCommit, index of last new entry)', () => {
    const s = new Single();
    s.step('append', 'n2', 1, { index: 0, logTerm: 0, entries: [entry(1, 1), entry(2, 1)], commit: 5 });
    expect(s.node.status().commit).toBe(2);
    s.step('append', 'n2', 1, { index: 2, logTerm: 1, entries: [entry(3, 1)], commit: 1 });
    expect(s.node.status().commit).toBe(2); // never moves backwards
  });
});

describe('Figure 2: RequestVote receiver', () => {
  test('1. reply false if term < currentTerm', () => {
    const s = new Single({ hardState: { term: 3, vote: '', commit: 0 } });
    // A stale vote request is ignored (no reply) - the candidate times out.
    expect(s.step('vote', 'n2', 2)).toEqual([]);
  });

  test('2. grant if not voted (or voted for it) and the candidate is at least as up to date', () => {
    const s = new Single({ logTerms: [1, 2] });
    expect(s.step('vote', 'n2', 3, { index: 2, logTerm: 2 }).map((m) => m.reject)).toEqual([false]);
    expect(s.step('vote', 'n2', 3, { index: 2, logTerm: 2 }).map((m) => m.reject)).toEqual([false]);
    expect(s.step('vote', 'n3', 3, { index: 2, logTerm: 2 }).map((m) => m.reject)).toEqual([true]);
  });

  test('2. refuse a candidate whose log is behind (older last term, or same term and shorter)', () => {
    const a = new Single({ logTerms: [1, 2] });
    expect(a.step('vote', 'n2', 3, { index: 5, logTerm: 1 }).map((m) => m.reject)).toEqual([true]);
    const b = new Single({ logTerms: [1, 2] });
    expect(b.step('vote', 'n2', 3, { index: 1, logTerm: 2 }).map((m) => m.reject)).toEqual([true]);
  });
});

describe('Figure 2: rules for servers', () => {
  test('all servers: apply committed entries in order', () => {
    const s = new Single();
    const { committed } = (() => {
      s.node.step({ ...msg('append', 'n2', 1), entries: [entry(1, 1), entry(2, 1), entry(3, 1)], commit: 2 });
      return s.drain();
    })();
    expect(committed.map((e) => e.index)).toEqual([1, 2]);
  });

  test('all servers: a message with a higher term makes the node a follower of that term', () => {
    const s = new Single({ logTerms: [1] });
    s.becomeLeader();
    expect(s.node.status().role).toBe('leader');
    s.step('appendResp', 'n3', 9);
    expect(s.node.status()).toMatchObject({ role: 'follower', term: 9 });
  });

  test('followers: the election timeout without hearing from a leader makes a candidate', () => {
    const s = new Single();
    for (let i = 0; i < 9; i++) s.node.tick();
    expect(s.node.status().role).toBe('follower');
    s.node.tick(); // electionTicks = 10, rng adds 0
    expect(s.node.status().role).toBe('candidate');
  });

  test('followers: an append from the leader resets the election timer', () => {
    const s = new Single();
    for (let i = 0; i < 9; i++) s.node.tick();
    s.step('heartbeat', 'n2', 1);
    for (let i = 0; i < 9; i++) s.node.tick();
    expect(s.node.status().role).toBe('follower');
  });

  test('candidates: increment the term, vote for self, ask every peer', () => {
    const s = new Single({ logTerms: [1, 1], hardState: { term: 1, vote: '', commit: 0 } });
    s.node.campaign();
    const rd = s.node.ready();
    expect(rd.hardState).toMatchObject({ term: 2, vote: 'n1' });
    expect(rd.messages.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
      ['vote', 'n2', 2, 2, 1],
      ['vote', 'n3', 2, 2, 1],
    ]);
  });

  test('candidates: votes from a majority make a leader that sends appends at once', () => {
    const s = new Single();
    s.node.campaign();
    s.drain();
    const out = s.step('voteResp', 'n3', 1);
    expect(s.node.status().role).toBe('leader');
    expect(out.filter((m) => m.type === 'append').map((m) => m.to).sort()).toEqual(['n2', 'n3']);
  });

  test('candidates: an append from the new leader of the term makes a follower', () => {
    const s = new Single();
    s.node.campaign();
    s.drain();
    s.step('append', 'n2', 1, { index: 0, logTerm: 0 });
    expect(s.node.status()).toMatchObject({ role: 'follower', leaderId: 'n2', term: 1 });
  });

  test('candidates: a split vote times out into a new election of a higher term', () => {
    const s = new Single();
    s.node.campaign();
    s.drain();
    for (let i = 0; i < 10; i++) s.node.tick();
    expect(s.node.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  test('leaders: heartbeats during idle periods', () => {
    const s = new Single();
    s.becomeLeader();
    s.node.tick();
    const { messages } = s.drain();
    expect(messages.filter((m) => m.type === 'heartbeat').map((m) => m.to).sort()).toEqual(['n2', 'n3']);
  });

  test('leaders: a client command is appended locally and applied once committed', () => {
    const s = new Single();
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 }); // the no-op
    expect(s.node.propose(new TextEncoder().encode('cmd'))).toBe(true);
    const sent = s.drain().messages.filter((m) => m.type === 'append');
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0].entries.map((e) => e.index)).toEqual([2]);
    s.node.step({ ...msg('appendResp', 'n2', 1), index: 2 });
    const { committed } = s.drain();
    expect(committed.map((e) => new TextDecoder().decode(e.data))).toEqual(['cmd']);
  });

  test('leaders: on a log inconsistency nextIndex moves back and the append is retried', () => {
    const s = new Single({ logTerms: [1, 1, 1], hardState: { term: 1, vote: '', commit: 0 } });
    s.becomeLeader(); // term 1 -> 2, no-op at 4; n2 next = 4
    const out = s.step('appendResp', 'n2', 2, { index: 3, reject: true, rejectHint: 1, hintTerm: 1 });
    const retry = out.find((m) => m.type === 'append' && m.to === 'n2')!;
    expect(retry.index).toBe(1); // prevLogIndex moved back to the follower's hint
    expect(retry.entries.map((e) => e.index)).toEqual([2, 3, 4]);
    s.step('appendResp', 'n2', 2, { index: 4 });
    expect(s.node.status().progress!.n2).toMatchObject({ match: 4, next: 5, state: 'replicate' });
  });

  test('leaders: commit N only if a majority matched N and log[N] is of the current term', () => {
    const s = new Single({ logTerms: [1, 1], hardState: { term: 1, vote: '', commit: 0 } });
    s.becomeLeader(); // term 2; its no-op is index 3
    s.step('appendResp', 'n2', 2, { index: 2 });
    expect(s.node.status().commit).toBe(0); // entries of term 1 on a majority: not by counting
    s.step('appendResp', 'n2', 2, { index: 3 });
    expect(s.node.status().commit).toBe(3); // the term-2 entry commits, and with it 1 and 2
  });
});

function msg(type: Parameters<Single['step']>[0], from: string, term: number) {
  return {
    type,
    from,
    to: 'n1',
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    hintTerm: 0,
    context: new Uint8Array(0),
  };
}
