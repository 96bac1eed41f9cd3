import { describe, expect, test } from '@jest/globals';
import { concatBytes } from '../../src/bytes.js';

describe('concatBytes', () => {
  test('joins the parts in order; one part comes back as it is', () => {
    const a = Uint8Array.of(1, 2);
    expect(concatBytes([a, Uint8Array.of(), Uint8Array.of(3)])).toEqual(Uint8Array.of(1, 2, 3));
    expect(concatBytes([a])).toBe(a);
    expect(concatBytes([])).toEqual(new Uint8Array(0));
  });
});
