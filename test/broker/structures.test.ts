import fc from 'fast-check';
import { Deque } from '../../src/broker/deque.js';
import { hashBytes, StreamHash } from '../../src/broker/hash.js';
import { IndexedHeap } from '../../src/broker/heap.js';

describe('Deque', () => {
  test('behaves like an array used as a FIFO, across wrap-arounds and growth', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 300 }), (ops) => {
        const d = new Deque<number>(4);
        const ref: number[] = [];
        for (const op of ops) {
          if (op === null) expect(d.shift()).toBe(ref.shift());
          else {
            d.push(op);
            ref.push(op);
          }
          expect(d.length).toBe(ref.length);
          expect(d.peek()).toBe(ref[0]);
        }
        expect(d.toArray()).toEqual(ref);
        expect([...d]).toEqual(ref);
        ref.forEach((v, i) => expect(d.at(i)).toBe(v));
        expect(d.at(ref.length)).toBeUndefined();
      }),
    );
  });
});

interface Item {
  key: number;
  id: number;
  heapIndex: number;
}

describe('IndexedHeap', () => {
  test('pops in total order whatever was pushed, removed or updated', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(
          fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: 0, max: 20 }) }),
          fc.record({ op: fc.constant('pop' as const) }),
          fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
          fc.record({ op: fc.constant('update' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 20 }) }),
        ), { maxLength: 200 }),
        (ops) => {
          const less = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.id < b.id);
          const heap = new IndexedHeap<Item>(less);
          let live: Item[] = [];
          let nextId = 0;
          const sortRef = () => live.sort((a, b) => (less(a, b) ? -1 : 1));
          for (const o of ops) {
            if (o.op === 'push') {
              const it = { key: o.key, id: nextId++, heapIndex: -1 };
              heap.push(it);
              live.push(it);
            } else if (o.op === 'pop') {
              sortRef();
              expect(heap.pop()).toBe(live.shift());
            } else if (live.length > 0) {
              const it = live[o.pick % live.length];
              if (o.op === 'remove') {
                heap.remove(it);
                live = live.filter((x) => x !== it);
                expect(it.heapIndex).toBe(-1);
              } else {
                it.key = o.key;
                heap.update(it);
              }
            }
            expect(heap.size).toBe(live.length);
            sortRef();
            expect(heap.peek()).toBe(live[0]);
          }
          expect(heap.sorted()).toEqual(sortRef());
        },
      ),
    );
  });
});

describe('StreamHash', () => {
  test('any chunking of the same bytes gives the same digest; different bytes differ', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const whole = hashBytes(bytes);
        const h = new StreamHash();
        let pos = 0;
        for (const c of cuts) {
          const end = Math.min(bytes.length, pos + (c % 7));
          h.update(bytes.subarray(pos, end));
          pos = end;
        }
        h.update(bytes.subarray(pos));
        expect(h.digest()).toBe(whole);
        expect(whole).toMatch(/^[0-9a-f]{16}$/);
        const other = new Uint8Array([...bytes, 0]);
        expect(hashBytes(other)).not.toBe(whole);
      }),
    );
  });
});
