import { Single, bytes, entry, fixedRng } from './single.js';
import { MajorityConfig } from '../../src/raft/quorum.js';
import { Inflights } from '../../src/raft/inflights.js';
import { RaftLog } from '../../src/raft/log.js';
import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import { CAMPAIGN_TRANSFER } from '../../src/raft/raft.js';
import { SeededRng } from '../../scripts/sim/rng.js';
import { message } from '../../src/raft/util.js';
import type { Message, SnapshotSource } from '../../src/raft/types.js';
import { SnapshotGoneError } from '../../src/raft/storage/log-store.js';

describe('randomized election timeouts', () => {
  test('the timeout is electionTicks plus what the injected rng says', () => {
    for (const extra of [0, 3, 9]) {
      const s = new Single({ config: { rng: fixedRng(extra) } });
      let ticks = 0;
      while (s.node.status().role === 'follower') {
        s.node.tick();
        ticks++;
      }
      expect(ticks).toBe(10 + extra);
    }
  });

  test('seeded nodes spread their timeouts over [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const s = new Single({ config: { rng: new SeededRng(seed) } });
      let ticks = 0;
      while (s.node.status().role === 'follower') {
        s.node.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(4);
  });
});

describe('pre-vote', () => {
  test('a pre-candidate asks with term+1 but changes nothing on disk', () => {
    const s = new Single({ hardState: { term: 4, vote: 'n3', commit: 0 }, config: { preVote: true } });
    s.node.campaign();
    const rd = s.node.ready();
    expect(rd.hardState).toBeUndefined();
    expect(rd.softState?.role).toBe('preCandidate');
    expect(rd.messages.map((m) => [m.type, m.term])).toEqual([
      ['preVote', 5],
      ['preVote', 5],
    ]);
  });

  test('granting a pre-vote does not bump the voter term; winning it starts the real election', () => {
    const voter = new Single({ id: 'n2', hardState: { term: 4, vote: '', commit: 0 }, config: { preVote: true } });
    const out = voter.step('preVote', 'n1', 5);
    expect(out.map((m) => [m.type, m.term, m.reject])).toEqual([['preVoteResp', 5, false]]);
    expect(voter.node.status().term).toBe(4);

    const s = new Single({ hardState: { term: 4, vote: '', commit: 0 }, config: { preVote: true } });
    s.node.campaign();
    s.drain();
    const votes = s.step('preVoteResp', 'n2', 5);
    expect(s.node.status()).toMatchObject({ role: 'candidate', term: 5 });
    expect(votes.map((m) => m.type)).toEqual(['vote', 'vote']);
  });

  test('a rejected pre-vote leaves the term alone and returns to follower', () => {
    const s = new Single({ hardState: { term: 4, vote: '', commit: 0 }, config: { preVote: true } });
    s.node.campaign();
    s.drain();
    s.step('preVoteResp', 'n2', 4, { reject: true });
    s.step('preVoteResp', 'n3', 4, { reject: true });
    expect(s.node.status()).toMatchObject({ role: 'follower', term: 4 });
  });
});

describe('check-quorum lease', () => {
  test('a follower that heard from its leader ignores vote requests, unless they come from a transfer', () => {
    const s = new Single({ id: 'n3', config: { checkQuorum: true } });
    s.step('heartbeat', 'n1', 1);
    expect(s.step('vote', 'n2', 2, { index: 9, logTerm: 1 })).toEqual([]);
    expect(s.node.status().term).toBe(1);
    const out = s.step('vote', 'n2', 2, { index: 9, logTerm: 1, context: CAMPAIGN_TRANSFER });
    expect(out.map((m) => [m.type, m.reject])).toEqual([['voteResp', false]]);
  });

  test('a leader without recent contact from a quorum steps down after an election timeout', () => {
    const s = new Single({ config: { checkQuorum: true } });
    s.becomeLeader();
    for (let i = 0; i < 10; i++) {
      s.node.tick();
      s.drain();
      if (i < 5) s.step('heartbeatResp', 'n2', 1);
    }
    expect(s.node.status().role).toBe('leader'); // n2 answered in the first timeout
    for (let i = 0; i < 10; i++) {
      s.node.tick();
      s.drain();
    }
    expect(s.node.status().role).toBe('follower'); // silence for a whole timeout
  });
});

describe('the leader and its own disk', () => {
  test('appends go out while the leader write is in flight; it counts itself only once persisted', () => {
    const s = new Single();
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    s.step('appendResp', 'n3', 1, { index: 1 });
    expect(s.node.propose(bytes('x'))).toBe(true);
    const rd = s.node.ready(); // the write of entry 2 is now in flight
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.messages.filter((m) => m.type === 'append').map((m) => m.to).sort()).toEqual(['n2', 'n3']);
    s.node.step({ ...heartbeatLike('appendResp', 'n3', 1), index: 2 });
    // n3 has it but the leader's own copy is not on disk: one of three is not a majority.
    expect(s.node.status().commit).toBe(1);
    s.store.save({ hardState: rd.hardState, entries: rd.entries });
    s.node.advance(rd);
    expect(s.node.status().commit).toBe(2);
    const { committed } = s.drain();
    expect(committed.map((e) => e.index)).toEqual([2]);
  });

  test('a leader keeps heartbeating and replicating while its write is in flight', () => {
    const s = new Single();
    s.becomeLeader();
    expect(s.node.propose(bytes('x'))).toBe(true);
    const rd = s.node.ready(); // the write of entry 2 is now in flight, and stays so
    expect(s.node.takeEarlyMessages()).toEqual([]);
    s.node.tick(); // heartbeatTicks = 1
    const beats = s.node.takeEarlyMessages();
    expect(beats.map((m) => `${m.type}>${m.to}`).sort()).toEqual(['heartbeat>n2', 'heartbeat>n3']);
    // Two followers are a majority without the leader's disk: entry 2 commits, and
    // the commit reaches the followers with the next round, still before the write returns.
    s.node.step({ ...heartbeatLike('appendResp', 'n2', 1), index: 2 });
    s.node.step({ ...heartbeatLike('appendResp', 'n3', 1), index: 2 });
    expect(s.node.status().commit).toBe(2);
    s.node.tick();
    expect(s.node.takeEarlyMessages().every((m) => m.type === 'heartbeat' && m.commit === 2)).toBe(true);
    s.store.save({ hardState: rd.hardState, entries: rd.entries });
    s.node.advance(rd);
    // What was taken is not sent again; the entries (the leader's no-op and x) are
    // applied only now that the Ready holding x was advanced.
    const { messages, committed } = s.drain();
    expect(messages.filter((m) => m.type === 'heartbeat')).toEqual([]);
    expect(committed.map((e) => e.index)).toEqual([1, 2]);
  });

  test('a leader applies what two followers committed while its own write is in flight, once, in order', () => {
    const s = new Single();
    s.becomeLeader();
    expect(s.node.propose(bytes('x'))).toBe(true);
    const rd = s.node.ready(); // the write of entry 2 is in flight
    expect(s.node.takeCommittedWhileWriting()).toEqual([]);
    // One follower: with the leader's disk it commits the no-op (written by an earlier
    // Ready), but x is on one disk only: a leader whose write has not returned is not counted.
    s.node.step({ ...heartbeatLike('appendResp', 'n2', 1), index: 2 });
    expect(s.node.takeCommittedWhileWriting().map((e) => e.index)).toEqual([1]);
    expect(s.node.takeCommittedWhileWriting()).toEqual([]);
    // Two followers are a majority: x is handed out now, and only once.
    s.node.step({ ...heartbeatLike('appendResp', 'n3', 1), index: 2 });
    expect(s.node.takeCommittedWhileWriting().map((e) => e.index)).toEqual([2]);
    expect(s.node.takeCommittedWhileWriting()).toEqual([]);
    s.store.save({ hardState: rd.hardState, entries: rd.entries });
    s.node.advance(rd);
    expect(s.node.status().applied).toBe(2);
    const { committed } = s.drain();
    expect(committed).toEqual([]);
    // The next entry commits the usual way, from index 3 on.
    expect(s.node.propose(bytes('y'))).toBe(true);
    const next = s.node.ready();
    s.store.save({ hardState: next.hardState, entries: next.entries });
    s.node.advance(next);
    s.node.step({ ...heartbeatLike('appendResp', 'n2', 1), index: 3 });
    expect(s.drain().committed.map((e) => e.index)).toEqual([3]);
  });

  test('a follower takes nothing committed while its write is in flight: it applies only what it wrote', () => {
    const s = new Single({ logTerms: [1], hardState: { term: 1, vote: 'n2', commit: 1 } });
    s.step('heartbeat', 'n2', 1, { commit: 1 });
    s.node.step(message('append', 'n2', 'n1', 1, { index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 2 }));
    s.node.ready(); // entry 2 is being written, and the leader says it is committed
    expect(s.node.takeCommittedWhileWriting()).toEqual([]);
  });

  test('a follower writing its log answers heartbeats at once, but acknowledges entries only after the write', () => {
    const s = new Single({ logTerms: [1], hardState: { term: 1, vote: 'n2', commit: 1 } });
    s.step('heartbeat', 'n2', 1, { commit: 1 }); // follows n2 in term 1
    s.node.step(message('append', 'n2', 'n1', 1, { index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 1 }));
    const rd = s.node.ready(); // entry 2 is being written; its acknowledgement waits for that
    expect(rd.messages.map((m) => `${m.type}:${m.index}`)).toEqual(['appendResp:2']);
    s.node.step(message('heartbeat', 'n2', 'n1', 1, { commit: 1, context: bytes('r1') }));
    s.node.step(message('append', 'n2', 'n1', 1, { index: 2, logTerm: 1, entries: [entry(3, 1)], commit: 1 }));
    const early = s.node.takeEarlyMessages();
    expect(early.map((m) => `${m.type}>${m.to}`)).toEqual(['heartbeatResp>n2']);
    expect(s.node.takeEarlyMessages()).toEqual([]);
    s.store.save({ hardState: rd.hardState, entries: rd.entries });
    s.node.advance(rd);
    // The acknowledgement of entry 3 goes out with the next Ready, after its write.
    const next = s.node.ready();
    expect(next.entries.map((e) => e.index)).toEqual([3]);
    expect(next.messages.map((m) => `${m.type}:${m.index}`)).toEqual(['appendResp:3']);
  });

  test('a follower whose Ready changes its term answers nothing early', () => {
    const s = new Single({ logTerms: [1], hardState: { term: 1, vote: '', commit: 1 } });
    s.node.step(message('heartbeat', 'n2', 'n1', 2, { commit: 1 })); // a leader of term 2
    const rd = s.node.ready(); // term 2 is being written
    expect(rd.hardState?.term).toBe(2);
    s.node.step(message('heartbeat', 'n2', 'n1', 2, { commit: 1 }));
    expect(s.node.takeEarlyMessages()).toEqual([]);
    s.store.save({ hardState: rd.hardState, entries: rd.entries });
    s.node.advance(rd);
    expect(s.drain().messages.filter((m) => m.type === 'heartbeatResp')).toHaveLength(1);
  });

  test('only a leader or a follower with a Ready outstanding gets messages early', () => {
    const s = new Single({ config: { preVote: false } });
    s.node.campaign(); // a candidate: its vote requests must wait for its vote on disk
    expect(s.node.takeEarlyMessages()).toEqual([]);
    const rd = s.node.ready();
    expect(rd.messages.map((m) => m.type)).toEqual(['vote', 'vote']);
    s.node.tick();
    expect(s.node.takeEarlyMessages()).toEqual([]);
    s.node.advance(rd);
  });

  test('only one Ready is outstanding at a time', () => {
    const s = new Single();
    s.node.campaign();
    const rd = s.node.ready();
    s.node.tick();
    expect(s.node.hasReady()).toBe(false);
    expect(() => s.node.ready()).toThrow();
    s.node.advance(rd);
    expect(s.node.hasReady()).toBe(false);
  });
});

describe('applying', () => {
  test('maxCommittedBytesPerReady spreads a long catch-up over several Readys', () => {
    const s = new Single({ logTerms: [1, 1, 1, 1, 1], hardState: { term: 1, vote: '', commit: 5 }, config: { maxCommittedBytesPerReady: 4 } });
    const { readies } = s.drain();
    // Entries carry 2 bytes each ("e1".."e5"): two per Ready.
    expect(readies.map((r) => r.committedEntries.map((e) => e.index))).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('restart after a compaction that kept a margin', () => {
  test('applied starts at the snapshot, not at the first stored entry', () => {
    const s = new Single({ logTerms: [1, 1, 1, 1, 1, 1], hardState: { term: 1, vote: '', commit: 6 } });
    s.store.compact({ meta: { index: 4, term: 1, conf: { voters: ['n1', 'n2', 'n3'] } }, data: bytes('state@4') }, 3);
    expect(s.store.firstIndex()).toBe(3);
    s.restart();
    expect(s.node.status().applied).toBe(4);
    const { committed } = s.drain();
    expect(committed.map((e) => e.index)).toEqual([5, 6]); // 3 and 4 are in the snapshot
  });
});

describe('batching and flow control', () => {
  test('many proposals between Readys become one append per follower', () => {
    const s = new Single();
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    s.step('appendResp', 'n3', 1, { index: 1 });
    for (let i = 0; i < 100; i++) s.node.propose(bytes(`p${i}`));
    const rd = s.node.ready();
    const appends = rd.messages.filter((m) => m.type === 'append');
    expect(appends.map((m) => m.to).sort()).toEqual(['n2', 'n3']);
    expect(appends[0].entries).toHaveLength(100);
    expect(rd.entries).toHaveLength(100);
  });

  test('at most maxInflightMessages un-acknowledged appends per follower; an ack opens the window', () => {
    const s = new Single({ config: { maxInflightMessages: 2 } });
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 }); // n2 -> replicate
    const sentTo = () => s.drain().messages.filter((m) => m.type === 'append' && m.to === 'n2');
    s.node.propose(bytes('a'));
    expect(sentTo()).toHaveLength(1);
    s.node.propose(bytes('b'));
    expect(sentTo()).toHaveLength(1);
    s.node.propose(bytes('c'));
    expect(sentTo()).toHaveLength(0); // window full: 2 in flight
    const after = s.step('appendResp', 'n2', 1, { index: 2 });
    const resumed = after.filter((m) => m.type === 'append' && m.to === 'n2');
    expect(resumed).toHaveLength(1);
    expect(resumed[0].entries.map((e) => e.index)).toEqual([4]);
  });

  test('append messages respect maxMessageBytes', () => {
    const s = new Single({ config: { maxMessageBytes: 10 } });
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    s.node.proposeMany([bytes('aaaaaa'), bytes('bbbbbb'), bytes('cccccc')]);
    const appends = s.drain().messages.filter((m) => m.type === 'append' && m.to === 'n2');
    expect(appends.map((m) => m.entries.map((e) => e.index))).toEqual([[2], [3], [4]]);
  });

  test('a follower in probe state gets one append per heartbeat interval until it answers', () => {
    const s = new Single();
    s.becomeLeader();
    expect(s.node.status().progress!.n3.state).toBe('probe');
    s.node.propose(bytes('a'));
    s.node.propose(bytes('b'));
    expect(s.drain().messages.filter((m) => m.type === 'append' && m.to === 'n3')).toHaveLength(0);
    const hb = s.step('heartbeatResp', 'n3', 1);
    expect(hb.filter((m) => m.type === 'append' && m.to === 'n3')).toHaveLength(1);
  });

  test('reportUnreachable drops a replicating follower back to probe', () => {
    const s = new Single();
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    expect(s.node.status().progress!.n2.state).toBe('replicate');
    s.node.reportUnreachable('n2');
    expect(s.node.status().progress!.n2.state).toBe('probe');
  });
});

describe('snapshots', () => {
  function compactedLeader(chunk: number) {
    const s = new Single({ config: { snapshotChunkBytes: chunk } });
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    for (let i = 0; i < 5; i++) s.node.propose(bytes(`v${i}`));
    s.drain();
    s.step('appendResp', 'n2', 1, { index: 6 });
    s.drain();
    expect(s.node.status().commit).toBe(6);
    s.store.compact({ meta: { index: 5, term: 1, conf: { voters: ['n1', 'n2', 'n3'] } }, data: bytes('0123456789abcdefghij') });
    return s;
  }

  test('a follower behind the compaction point gets the snapshot in chunks, then appends', () => {
    const s = compactedLeader(8);
    const first = s.step('heartbeatResp', 'n3', 1).filter((m) => m.type === 'snapshot');
    expect(first).toHaveLength(1);
    expect(first[0].snapshot).toMatchObject({ offset: 0, totalBytes: 20, done: false });
    expect(s.node.status().progress!.n3.state).toBe('snapshot');
    const second = s.step('snapshotResp', 'n3', 1, { index: 8 }).filter((m) => m.type === 'snapshot');
    expect(second[0].snapshot).toMatchObject({ offset: 8, done: false });
    const third = s.step('snapshotResp', 'n3', 1, { index: 16 }).filter((m) => m.type === 'snapshot');
    expect(third[0].snapshot).toMatchObject({ offset: 16, done: true });
    expect(new TextDecoder().decode(third[0].snapshot!.data)).toBe('ghij');
    // The follower installed it and reports its log ends at the snapshot index.
    const next = s.step('appendResp', 'n3', 1, { index: 5 });
    expect(s.node.status().progress!.n3.state).toBe('replicate');
    expect(next.find((m) => m.type === 'append' && m.to === 'n3')!.entries.map((e) => e.index)).toEqual([6]);
  });

  test('a lost chunk is resent after a heartbeat round without progress; a follower that lost the stream restarts it', () => {
    const s = compactedLeader(8);
    s.step('heartbeatResp', 'n3', 1); // starts the stream: chunk at 0 (lost)
    s.node.tick();
    expect(s.drain().messages.filter((m) => m.type === 'snapshot')).toEqual([]); // not to a silent node
    expect(s.step('heartbeatResp', 'n3', 1).filter((m) => m.type === 'snapshot')).toEqual([]); // one interval of grace
    const resent = s.step('heartbeatResp', 'n3', 1).filter((m) => m.type === 'snapshot' && m.to === 'n3');
    expect(resent.map((m) => m.snapshot!.offset)).toEqual([0]);
    s.step('snapshotResp', 'n3', 1, { index: 8 });
    const restart = s.step('snapshotResp', 'n3', 1, { index: 0, reject: true });
    expect(restart.filter((m) => m.type === 'snapshot').map((m) => m.snapshot!.offset)).toEqual([0]);
  });

  test('a stream whose image a newer snapshot replaced starts over with the newer one', () => {
    const s = compactedLeader(8);
    // A disk-backed store reads the image piece by piece; once replaced, the old one is gone.
    const store = s.store as MemoryLogStore & { snapshotSource?: () => SnapshotSource };
    store.snapshotSource = () => {
      const { meta, data } = store.snapshot();
      const read = (offset: number, length: number) => {
        if (store.snapshot().meta.index !== meta.index) throw new SnapshotGoneError(meta.index);
        return data.subarray(offset, offset + length);
      };
      return { meta, totalBytes: data.length, read };
    };
    const first = s.step('heartbeatResp', 'n3', 1).filter((m) => m.type === 'snapshot');
    expect(first[0].snapshot).toMatchObject({ offset: 0, meta: { index: 5 } });
    s.store.compact({ meta: { index: 6, term: 1, conf: { voters: ['n1', 'n2', 'n3'] } }, data: bytes('newer image') });
    const next = s.step('snapshotResp', 'n3', 1, { index: 8 }).filter((m) => m.type === 'snapshot');
    expect(next.map((m) => [m.snapshot!.meta.index, m.snapshot!.offset, m.snapshot!.totalBytes])).toEqual([[6, 0, 11]]);
    expect(new TextDecoder().decode(next[0].snapshot!.data)).toBe('newer im');
    expect(s.node.status().progress!.n3.state).toBe('snapshot');
  });

  test('the follower assembles chunks, installs the snapshot, and the application sees it in a Ready', () => {
    const f = new Single({ id: 'n3', logTerms: [1] });
    const meta = { index: 5, term: 1, conf: { voters: ['n1', 'n2', 'n3'] } };
    const chunk = (offset: number, text: string, done: boolean) => ({
      meta,
      offset,
      totalBytes: 12,
      data: bytes(text),
      done,
    });
    expect(f.step('snapshot', 'n1', 1, { snapshot: chunk(0, 'hello ', false) }).map((m) => [m.type, m.index])).toEqual([['snapshotResp', 6]]);
    // A chunk from the wrong offset asks the leader to resend from what we have.
    expect(f.step('snapshot', 'n1', 1, { snapshot: chunk(9, 'xyz', true) }).map((m) => [m.type, m.reject, m.index])).toEqual([['snapshotResp', true, 6]]);
    f.node.step({ ...heartbeatLike('snapshot', 'n1', 1), to: 'n3', snapshot: chunk(6, 'world!', true) });
    const rd = f.node.ready();
    expect(rd.snapshot!.meta.index).toBe(5);
    expect(new TextDecoder().decode(rd.snapshot!.data)).toBe('hello world!');
    expect(rd.messages.map((m) => [m.type, m.index])).toEqual([['appendResp', 5]]);
    f.store.save({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState });
    f.node.advance(rd);
    expect(f.node.status()).toMatchObject({ commit: 5, applied: 5, lastIndex: 5 });
  });

  test('a chunk of a snapshot the follower already covers is answered with its commit index', () => {
    const f = new Single({ id: 'n3' });
    f.step('append', 'n1', 1, { entries: [entry(1, 1), entry(2, 1), entry(3, 1)], commit: 3 });
    const meta = { index: 2, term: 1, conf: { voters: ['n1', 'n2', 'n3'] } };
    const out = f.step('snapshot', 'n1', 1, { snapshot: { meta, offset: 8, totalBytes: 12, data: bytes('tail'), done: true } });
    expect(out.map((m) => [m.type, m.index, m.reject])).toEqual([['appendResp', 3, false]]);
  });

  test('reportSnapshot(false) returns the follower to probe', () => {
    const s = compactedLeader(8);
    s.step('heartbeatResp', 'n3', 1);
    s.node.reportSnapshot('n3', false);
    expect(s.node.status().progress!.n3.state).toBe('probe');
  });
});

describe('ReadIndex', () => {
  test('a read is confirmed by a heartbeat round to a quorum', () => {
    const s = new Single();
    s.becomeLeader();
    s.step('appendResp', 'n2', 1, { index: 1 });
    expect(s.node.readIndex(bytes('r1'))).toBe(true);
    const { messages } = s.drain();
    const hbs = messages.filter((m) => m.type === 'heartbeat');
    expect(hbs).toHaveLength(2);
    expect(new TextDecoder().decode(hbs[0].context)).toBe('r1');
    s.node.step({ ...heartbeatLike('heartbeatResp', 'n3', 1), context: bytes('r1') });
    const rd = s.node.ready();
    expect(rd.readStates.map((r) => [r.index, new TextDecoder().decode(r.context)])).toEqual([[1, 'r1']]);
  });

  test('followers refuse; a single-node leader answers once its term has a commit', () => {
    const f = new Single({ id: 'n2' });
    expect(f.node.readIndex(bytes('r'))).toBe(false);
    const solo = new Single({ voters: ['n1'] });
    solo.node.campaign();
    expect(solo.node.readIndex(bytes('r'))).toBe(true);
    const rs = solo.drain().readies.flatMap((r) => r.readStates);
    expect(rs.map((r) => r.index)).toEqual([1]);
  });
});

describe('leader transfer', () => {
  test('a transfer that does not finish within an election timeout is abandoned', () => {
    const s = new Single();
    s.becomeLeader();
    expect(s.node.transferLeader('n3')).toBe(true); // n3 is behind: no TimeoutNow yet
    expect(s.node.propose(bytes('x'))).toBe(false);
    for (let i = 0; i < 10; i++) s.node.tick();
    expect(s.node.status().role).toBe('leader');
    expect(s.node.propose(bytes('x'))).toBe(true);
  });

  test('the target receives TimeoutNow and campaigns at once, past pre-vote', () => {
    const f = new Single({ id: 'n2', logTerms: [1], hardState: { term: 1, vote: '', commit: 1 }, config: { preVote: true } });
    const out = f.step('timeoutNow', 'n1', 1);
    expect(f.node.status()).toMatchObject({ role: 'candidate', term: 2 });
    expect(out.every((m) => m.type === 'vote' && new TextDecoder().decode(m.context) === 'CampaignTransfer')).toBe(true);
  });
});

describe('pieces', () => {
  test('majority commit index and vote tallies', () => {
    const five = new MajorityConfig(['a', 'b', 'c', 'd', 'e']);
    const match: Record<string, number> = { a: 9, b: 7, c: 5, d: 3, e: 1 };
    expect(five.committedIndex((id) => match[id])).toBe(5);
    expect(five.voteResult(new Map([['a', true], ['b', true]]))).toBe('pending');
    expect(five.voteResult(new Map([['a', true], ['b', true], ['c', true]]))).toBe('won');
    expect(five.voteResult(new Map([['a', false], ['b', false], ['c', false]]))).toBe('lost');
  });

  test('inflights is a bounded ring freed by acknowledgements', () => {
    const inf = new Inflights(3);
    for (const i of [5, 7, 9]) inf.add(i);
    expect(inf.full()).toBe(true);
    inf.freeLE(7);
    expect(inf.count).toBe(1);
    inf.add(11);
    inf.add(13);
    expect(inf.full()).toBe(true);
    inf.freeLE(100);
    expect(inf.count).toBe(0);
  });

  test('findConflictByTerm skips a whole divergent term', () => {
    const store = new MemoryLogStore({ voters: ['n1'] });
    store.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 4), entry(4, 4), entry(5, 4)] });
    const log = new RaftLog(store);
    expect(log.findConflictByTerm(5, 3)).toEqual([2, 1]);
    expect(log.findConflictByTerm(5, 4)).toEqual([5, 4]);
    expect(log.findConflictByTerm(9, 2)).toEqual([2, 1]);
  });

  test('terms below the compaction point are unknown; the snapshot point is known', () => {
    const store = new MemoryLogStore({ voters: ['n1'] });
    store.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 2)] });
    store.compact({ meta: { index: 2, term: 1, conf: { voters: ['n1'] } }, data: bytes('s') });
    const log = new RaftLog(store);
    expect(log.term(1)).toBeUndefined();
    expect(log.term(2)).toBe(1);
    expect(log.term(3)).toBe(2);
    expect(log.entriesFrom(2, 100)).toBeUndefined(); // needs the snapshot
    expect(log.entriesFrom(3, 100)!.map((e) => e.index)).toEqual([3]);
  });
});

function heartbeatLike(type: 'appendResp' | 'heartbeatResp' | 'snapshot', from: string, term: number): Message {
  return message(type, from, 'n1', term);
}
