import { createHash } from 'node:crypto';
import { matchesSecret, secretDigest } from '../../src/node/secret-compare.js';

describe('secret comparison', () => {
  test('the digest is SHA-256 of the UTF-8 secret, and only the secret matches it', () => {
    for (const secret of ['', 'cluster-token', 'é✓'.repeat(40)]) {
      expect(secretDigest(secret)).toEqual(createHash('sha256').update(secret, 'utf8').digest());
    }
    const expected = secretDigest('cluster-token');
    expect(matchesSecret('cluster-token', expected)).toBe(true);
    expect(matchesSecret('cluster-tokeN', expected)).toBe(false);
    expect(matchesSecret('cluster-token-longer', expected)).toBe(false);
    expect(matchesSecret('', expected)).toBe(false);
  });
});
