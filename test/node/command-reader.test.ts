import { commandReader } from '../../src/node/command-reader.js';
import { encodeEnvelope } from '../../src/node/envelope.js';
import type { Entry } from '../../src/raft/types.js';
import { CompactedError, UnavailableError } from '../../src/raft/storage/log-store.js';

const cmd = (s: string) => new TextEncoder().encode(s);
const entry = (index: number, text: string): Entry => ({ index, term: 1, type: 'normal', data: encodeEnvelope(7, index, 0, cmd(text)) });

/** A log store holding entries 3..5; below is compacted, above is not written yet. */
const store = {
  entries(lo: number, hi: number): Entry[] {
    if (lo < 3) throw new CompactedError(lo);
    if (hi > 6) throw new UnavailableError(hi - 1);
    return [entry(lo, `stored-${lo}`)];
  },
};

/** The reader's commands as text (undefined as is). */
const textOf = (read: (index: number) => Uint8Array | undefined) => (index: number) => {
  const c = read(index);
  return c === undefined ? undefined : new TextDecoder().decode(c);
};

describe('commandReader (what StateMachine.answer reads entries with)', () => {
  test('reads the batch being applied first, then the store; returns the command without its envelope', () => {
    const read = commandReader(store, [entry(5, 'batch-5'), entry(6, 'batch-6')]);
    const text = textOf(read);
    expect(text(6)).toBe('batch-6');
    expect(text(5)).toBe('batch-5');
    expect(text(4)).toBe('stored-4');
    expect(text(2)).toBeUndefined();
    expect(text(9)).toBeUndefined();
  });

  test('a leader applying while its write is in flight reads that write\'s entries, which the store does not have yet', () => {
    const read = commandReader(store, [entry(8, 'batch-8')], [entry(6, 'writing-6'), entry(7, 'writing-7'), entry(8, 'writing-8')]);
    const text = textOf(read);
    expect(text(8)).toBe('batch-8');
    expect(text(7)).toBe('writing-7');
    expect(text(6)).toBe('writing-6');
    expect(text(5)).toBe('stored-5');
    expect(text(9)).toBeUndefined();
  });

  test('entries that hold no command (a leader\'s no-op, a config change) read as undefined; storage failures propagate', () => {
    const noop: Entry = { index: 8, term: 2, type: 'normal', data: new Uint8Array(0) };
    expect(commandReader(store, [noop])(8)).toBeUndefined();
    const failing = { entries(): Entry[] { throw new Error('disk on fire'); } };
    expect(() => commandReader(failing, [])(4)).toThrow('disk on fire');
  });
});
