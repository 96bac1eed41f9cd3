import fc from 'fast-check';
import { hashBytes, StreamHash } from '../../src/broker/hash.js';
import { IndexedHeap } from '../../src/broker/heap.js';
import { Message } from '../../src/broker/message.js';
import { MessageFifo } from '../../src/broker/message-fifo.js';
import { PinSet } from '../../src/broker/pins.js';

describe('MessageFifo', () => {
  test('behaves like an array of messages used as a FIFO, across chunks; a view stays as it was taken', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constant(0), fc.constant(-1)), { maxLength: 40 }), (ops) => {
        const f = new MessageFifo();
        const ref: Message[] = [];
        let seq = 0;
        let view = f.view();
        let viewRef: Message[] = [];
        for (const op of ops) {
          if (op === 0) {
            // Take a view, then keep changing the FIFO: the view must not change.
            view = f.view();
            viewRef = [...ref];
          } else if (op === -1) {
            f.clear();
            ref.length = 0;
          } else if (op % 3 === 0) {
            for (let k = 0; k < op && ref.length > 0; k++) {
              expect(f.peek()).toEqual(ref[0]);
              f.shift();
              ref.shift();
            }
          } else {
            for (let k = 0; k < op; k++) {
              const inline = k % 500 === 7 ? { body: `b${seq}`, attributes: { a: 'x' } } : null;
              const m = new Message(1000 + Math.floor(seq / 100), seq % 100, seq * 3, 5000 + seq, seq, 6000 + seq, inline);
              seq++;
              f.pushMessage(m);
              ref.push(m);
            }
          }
          expect(f.length).toBe(ref.length);
        }
        expect(f.view().messages()).toEqual(ref);
        ref.forEach((m, i) => {
          if (i % 97 === 0) expect(f.at(i)).toEqual(m);
        });
        expect(f.at(ref.length)).toBeUndefined();
        expect(view.messages()).toEqual(viewRef);
      }),
      { numRuns: 60 },
    );
  });
  test('a FIFO holding a few messages takes a few hundred bytes, not a whole chunk', () => {
    const before = process.memoryUsage().arrayBuffers;
    const fifos = Array.from({ length: 1000 }, (_, i) => {
      const f = new MessageFifo();
      f.push(i, 0, 10, 0, 0, 0);
      return f;
    });
    // A full chunk is 4,096 rows of 38 bytes: 155 MB for these 1,000.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(5 * 1024 * 1024);
    expect(fifos.every((f) => f.length === 1)).toBe(true);
  });
});

describe('PinSet', () => {
  test('min() is the smallest index with a pin, whatever the order of adds and removes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 3 })), { maxLength: 400 }), (ops) => {
        const pins = new PinSet();
        const ref = new Map<number, number>();
        let next = 0;
        for (const [add, pick, n] of ops) {
          const held = [...ref.keys()];
          if (add || held.length === 0) {
            // Mostly the newest entry (apply order), sometimes an older one again.
            const index = pick % 4 === 0 && held.length > 0 ? held[pick % held.length] : (next += pick % 3);
            pins.add(index, n);
            ref.set(index, (ref.get(index) ?? 0) + n);
          } else {
            const index = held[pick % held.length];
            const k = Math.min(n, ref.get(index) as number);
            pins.remove(index, k);
            if (ref.get(index) === k) ref.delete(index);
            else ref.set(index, (ref.get(index) as number) - k);
          }
          expect(pins.min()).toBe(ref.size === 0 ? undefined : Math.min(...ref.keys()));
        }
        expect(pins.runs()).toEqual([...ref].sort((a, b) => a[0] - b[0]));
      }),
    );
  });

  test('removing a pin that is not there is a bookkeeping bug', () => {
    const pins = new PinSet();
    pins.add(5);
    expect(() => pins.remove(6)).toThrow(/no pin/);
    expect(() => pins.remove(5, 2)).toThrow(/no pin/);
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
