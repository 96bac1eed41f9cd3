import fc from 'fast-check';
import { RaftLog } from '../../src/raft/log.js';
import { MemoryLogStore } from '../../src/raft/storage/memory-log-store.js';
import type { Entry } from '../../src/raft/types.js';

// The log is two halves (store + unstable) that move under appends, truncations,
// persistence, commits and compaction. Whatever the interleaving, it must read exactly
// like one flat array of terms.

type Op =
  | { kind: 'append'; at: number; count: number }
  | { kind: 'persist' }
  | { kind: 'commit'; upTo: number }
  | { kind: 'compact'; upTo: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), at: fc.nat(40), count: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('persist' as const) }),
  fc.record({ kind: fc.constant('commit' as const), upTo: fc.nat(40) }),
  fc.record({ kind: fc.constant('compact' as const), upTo: fc.nat(40) }),
);

describe('RaftLog reads like one array', () => {
  test('any sequence of appends, truncations, persists, commits and compactions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const store = new MemoryLogStore({ voters: ['n1'] });
        const log = new RaftLog(store);
        const model: number[] = [0]; // model[i] = term of entry i; index 0 is the origin
        let term = 1;
        for (const o of ops) {
          if (o.kind === 'append') {
            // A new leader's entries replace anything after `at` (never committed ones).
            const at = Math.max(log.committed + 1, Math.min(o.at, log.lastIndex() + 1));
            term++;
            const ents: Entry[] = [];
            for (let i = 0; i < o.count; i++) ents.push({ index: at + i, term, type: 'normal', data: new Uint8Array([term]) });
            log.append(ents);
            model.length = at;
            for (const e of ents) model.push(e.term);
          } else if (o.kind === 'persist') {
            const ents = log.unstable.entries.slice();
            if (ents.length > 0) {
              store.save({ entries: ents });
              const last = ents[ents.length - 1];
              log.stableTo(last.index, last.term);
            }
          } else if (o.kind === 'commit') {
            log.commitTo(Math.min(o.upTo, log.persistedIndex()));
          } else {
            const upTo = Math.min(o.upTo, log.committed, store.lastIndex());
            if (upTo > store.snapshot().meta.index) {
              store.compact({ meta: { index: upTo, term: 0, conf: { voters: ['n1'] } }, data: new Uint8Array() });
            }
          }
          // Invariants: bounds, every term, every slice.
          expect(log.lastIndex()).toBe(model.length - 1);
          const first = log.firstIndex();
          for (let i = first - 1; i < model.length; i++) expect(log.term(i)).toBe(model[i]);
          expect(log.term(first - 2)).toBeUndefined();
          if (first <= log.lastIndex()) {
            const all = log.slice(first, log.lastIndex() + 1);
            expect(all.map((e) => e.term)).toEqual(model.slice(first));
            expect(all.map((e) => e.index)).toEqual(model.slice(first).map((_, k) => first + k));
          }
          expect(log.persistedIndex()).toBeLessThanOrEqual(store.lastIndex());
        }
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
