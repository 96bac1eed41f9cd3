import { describe, expect, test } from '@jest/globals';
import { LoginLimiter } from '../../src/api/auth/rate-limit.js';
import type { ApiError } from '../../src/api/errors.js';

function retryAfter(f: () => void): number | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    expect((err as ApiError).code).toBe('rate_limited');
    return (err as ApiError).retryAfterSec;
  }
}

describe('LoginLimiter', () => {
  test('blocks a username after its burst of failures, then forgives one per interval', () => {
    let now = 0;
    const limiter = new LoginLimiter({
      perUsername: { capacity: 3, refillEveryMs: 5_000 },
      perAddress: { capacity: 100, refillEveryMs: 1_000 },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBeUndefined();
      limiter.recordFailure('bob', '1.1.1.1');
    }
    expect(retryAfter(() => limiter.check('bob', '2.2.2.2'))).toBe(5);
    expect(retryAfter(() => limiter.check('carol', '1.1.1.1'))).toBeUndefined();
    now += 4_000;
    expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBe(1);
    now += 1_000;
    expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBeUndefined();
    limiter.recordFailure('bob', '1.1.1.1');
    expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBe(5);
  });

  test('blocks an address that fails across many usernames', () => {
    const now = 0;
    const limiter = new LoginLimiter({
      perUsername: { capacity: 100, refillEveryMs: 1_000 },
      perAddress: { capacity: 5, refillEveryMs: 2_000 },
      now: () => now,
    });
    for (let i = 0; i < 5; i++) limiter.recordFailure(`user${i}`, '9.9.9.9');
    expect(retryAfter(() => limiter.check('someone-new', '9.9.9.9'))).toBe(2);
    expect(retryAfter(() => limiter.check('someone-new', '8.8.8.8'))).toBeUndefined();
  });
});
