import fc from 'fast-check';
import { messageBytes, messageTooLarge } from '../../src/broker/index.js';

describe('message size in UTF-8 bytes', () => {
  // Any UTF-16 units, lone surrogates included (Buffer counts those as U+FFFD, 3 bytes).
  const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

  test('messageBytes is the UTF-8 length of body, attribute names and values, short or long', () => {
    fc.assert(
      fc.property(text(300), fc.dictionary(text(80), text(120), { maxKeys: 3 }), (body, attributes) => {
        let expected = Buffer.byteLength(body, 'utf8');
        for (const [k, v] of Object.entries(attributes)) expected += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
        expect(messageBytes({ body, attributes })).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  test('long bodies after longer ones, and at the limit', () => {
    expect(messageBytes({ body: 'é'.repeat(100_000) })).toBe(200_000);
    expect(messageBytes({ body: 'x'.repeat(1024) })).toBe(1024);
    expect(messageBytes({ body: '\ud800'.repeat(100) + '😀'.repeat(50) })).toBe(300 + 200);
    expect(messageTooLarge({ body: 'é'.repeat(131_072) })).toBe(false);
    expect(messageTooLarge({ body: 'é'.repeat(131_073) })).toBe(true);
  });
});
