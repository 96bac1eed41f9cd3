import { describe, expect, test } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import { bearerToken, TokenService } from '../../src/api/auth/tokens.js';
import type { ApiError } from '../../src/api/errors.js';

const SECRET = 'test-secret-of-at-least-32-bytes!!';

async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return `${(err as ApiError).status} ${(err as ApiError).code}`;
  }
}

describe('TokenService', () => {
  test('issues a token that verifies to its user, with an ISO expiry', async () => {
    const now = 1_700_000_000_000;
    const tokens = new TokenService({ secret: SECRET, clusterId: 'c1', ttlMs: 3_600_000, now: () => now });
    const { token, expiresAt } = await tokens.issue('alice');
    expect(expiresAt).toBe(new Date(now + 3_600_000).toISOString());
    expect(await tokens.verify(token)).toBe('alice');
    expect(await tokens.verify(token)).toBe('alice'); // cached path
  });

  test('cachedUser answers only for a token verified before and not yet expired', async () => {
    let now = 1_700_000_000_000;
    const tokens = new TokenService({ secret: SECRET, clusterId: 'c1', ttlMs: 10_000, now: () => now });
    const { token } = await tokens.issue('alice');
    expect(tokens.cachedUser(token)).toBeUndefined();
    expect(await tokens.verify(token)).toBe('alice');
    expect(tokens.cachedUser(token)).toBe('alice');
    now += 11_000;
    expect(tokens.cachedUser(token)).toBeUndefined();
    expect(await rejects(tokens.verify(token))).toBe('401 unauthorized');
  });

  test('an expired token is refused, cached or not', async () => {
    let now = 1_700_000_000_000;
    const tokens = new TokenService({ secret: SECRET, clusterId: 'c1', ttlMs: 10_000, now: () => now });
    const { token } = await tokens.issue('alice');
    expect(await tokens.verify(token)).toBe('alice');
    now += 11_000;
    expect(await rejects(tokens.verify(token))).toBe('401 unauthorized');
    const fresh = new TokenService({ secret: SECRET, clusterId: 'c1', ttlMs: 10_000, now: () => now });
    expect(await rejects(fresh.verify(token))).toBe('401 unauthorized');
  });

  test('tampered payload, another secret, another cluster, alg none: all 401', async () => {
    const tokens = new TokenService({ secret: SECRET, clusterId: 'c1', ttlMs: 60_000 });
    const { token } = await tokens.issue('alice');
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'mallory' })).toString('base64url');
    expect(await rejects(tokens.verify(`${h}.${forged}.${s}`))).toBe('401 unauthorized');

    const otherSecret = await new TokenService({ secret: 'another-secret-another-cluster!!', clusterId: 'c1', ttlMs: 60_000 }).issue('alice');
    expect(await rejects(tokens.verify(otherSecret.token))).toBe('401 unauthorized');

    const otherCluster = await new TokenService({ secret: SECRET, clusterId: 'c2', ttlMs: 60_000 }).issue('alice');
    expect(await rejects(tokens.verify(otherCluster.token))).toBe('401 unauthorized');

    const none = new UnsecuredJWT({ sub: 'alice' }).setIssuer('mom-broker').setAudience('c1').setExpirationTime('1h').encode();
    expect(await rejects(tokens.verify(none))).toBe('401 unauthorized');

    // HS512 with the right secret: not the algorithm we issue, so refused.
    const hs512 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('alice')
      .setIssuer('mom-broker')
      .setAudience('c1')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect(await rejects(tokens.verify(hs512))).toBe('401 unauthorized');
  });

  test('the Authorization header must be Bearer <jwt>', () => {
    expect(bearerToken('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerToken('bearer a.b.c')).toBe('a.b.c');
    for (const bad of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer abc']) {
      expect(() => bearerToken(bad)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    }
  });
});
