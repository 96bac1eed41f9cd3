// The in-memory index of the segment log against a plain array of entries: terms kept
// as runs, the typed arrays sliding, growing and trimmed, every bound moving.
import fc from 'fast-check';
import { SegmentIndex } from '../../src/node/storage/segments/segment-index.js';

type Row = { term: number; seq: number; offset: number; length: number };

test('property: SegmentIndex answers like an array of entries', () => {
  type Op =
    | { kind: 'push'; n: number; termUp: number }
    | { kind: 'truncate'; back: number; termUp: number }
    | { kind: 'dropBelow'; ahead: number }
    | { kind: 'reset'; gap: number }
    | { kind: 'trim' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 1500 }), termUp: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 2000 }), termUp: fc.integer({ min: 0, max: 1 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('dropBelow' as const), ahead: fc.integer({ min: 0, max: 2500 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), gap: fc.integer({ min: 0, max: 5 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const index = new SegmentIndex(1);
      let base = 1;
      let rows: Row[] = [];
      let term = 1;
      const append = (n: number) => {
        for (let k = 0; k < n; k++) {
          const i = base + rows.length;
          const row = { term, seq: Math.floor(i / 100), offset: i * 3.5, length: i % 977 };
          rows.push(row);
          index.push(i, row.term, row.seq, row.offset, row.length);
        }
      };
      for (const o of ops) {
        if (o.kind === 'push') {
          term += o.termUp;
          append(o.n);
        } else if (o.kind === 'truncate') {
          const at = Math.max(base, base + rows.length - o.back);
          index.truncateFrom(at);
          rows = rows.slice(0, at - base);
          term += 1 + o.termUp;
          append(1);
        } else if (o.kind === 'dropBelow') {
          const to = base + o.ahead;
          index.dropBelow(to);
          if (to > base + rows.length - 1) {
            rows = [];
            base = to;
          } else {
            rows = rows.slice(to - base);
            base = to;
          }
        } else if (o.kind === 'reset') {
          base = base + rows.length + o.gap;
          rows = [];
          index.reset(base);
        } else {
          index.trim();
        }
        expect([index.first, index.last]).toEqual([base, base + rows.length - 1]);
      }
      for (let k = 0; k < rows.length; k += Math.max(1, Math.floor(rows.length / 300))) {
        const i = base + k;
        expect({ term: index.termOf(i), seq: index.seqOf(i), offset: index.offsetOf(i), length: index.lengthOf(i) }).toEqual(rows[k]);
      }
      if (rows.length > 0) expect(index.termOf(base + rows.length - 1)).toBe(rows.at(-1)!.term);
      expect(index.has(base - 1)).toBe(false);
      expect(index.has(base + rows.length)).toBe(false);
    }),
    { numRuns: 200 },
  );
});

test('after trim() the index holds 16 bytes per entry (terms as runs)', () => {
  const index = new SegmentIndex(1);
  for (let i = 1; i <= 100_000; i++) index.push(i, 1 + Math.floor(i / 10_000), 0, i * 1000, 1000);
  index.trim();
  expect(index.memoryBytes / index.size).toBeLessThan(16.01);
  expect(index.termOf(99_999)).toBe(10);
  expect(index.termOf(10_000)).toBe(2);
  expect(index.termOf(9_999)).toBe(1);
});
