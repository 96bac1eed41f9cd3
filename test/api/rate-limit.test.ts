import { describe, expect, test } from '@jest/globals';
import { BucketTable, LoginLimiter, RegisterLimiter } from '../../src/api/auth/rate-limit.js';
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
  test('blocks a username for the failing address after its burst, then forgives one per interval', () => {
    let now = 0;
    const limiter = new LoginLimiter({
      perUsernameAndAddress: { capacity: 3, refillEveryMs: 5_000 },
      perAddress: { capacity: 100, refillEveryMs: 1_000 },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBeUndefined();
      limiter.recordFailure('bob', '1.1.1.1');
    }
    expect(retryAfter(() => limiter.check('bob', '1.1.1.1'))).toBe(5);
    // A stranger's failures do not lock bob out from his own address.
    expect(retryAfter(() => limiter.check('bob', '2.2.2.2'))).toBeUndefined();
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

  test('a per-username ceiling stops guessing spread over many addresses, but not the owner at a known address', () => {
    const now = 0;
    const limiter = new LoginLimiter({ perUsername: { capacity: 20, refillEveryMs: 10_000 }, now: () => now });
    limiter.recordSuccess('bob', '7.7.7.7'); // bob's usual place
    for (let i = 0; i < 20; i++) limiter.recordFailure('bob', `10.0.${i}.1`);
    expect(retryAfter(() => limiter.check('bob', '10.9.9.9'))).toBe(10);
    expect(retryAfter(() => limiter.check('bob', '7.7.7.7'))).toBeUndefined();
    expect(retryAfter(() => limiter.check('alice', '10.9.9.9'))).toBeUndefined();
  });

  test('memory stays bounded: each table forgets its least recently charged key', () => {
    const limiter = new LoginLimiter({ maxKeys: 1_000 });
    for (let i = 0; i < 20_000; i++) {
      limiter.recordFailure(`user${i}`, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
      limiter.recordSuccess(`user${i}`, '1.1.1.1');
    }
    const sizes = limiter.sizes;
    expect(Math.max(sizes.pairs, sizes.addresses, sizes.users, sizes.known)).toBeLessThanOrEqual(1_000);
    const table = new BucketTable({ capacity: 1, refillEveryMs: 1_000 }, () => 0, 3);
    for (const k of ['a', 'b', 'c', 'a', 'd']) table.charge(k);
    expect(table.size).toBe(3);
    expect(table.blockedForMs('a')).toBeGreaterThan(0); // recently charged: kept
    expect(table.blockedForMs('b')).toBe(0); // least recently charged: forgotten
  });
});

describe('RegisterLimiter', () => {
  test('counts every registration per address', () => {
    let now = 0;
    const limiter = new RegisterLimiter({ perAddress: { capacity: 2, refillEveryMs: 30_000 }, now: () => now });
    limiter.take('1.1.1.1');
    limiter.take('1.1.1.1');
    expect(retryAfter(() => limiter.take('1.1.1.1'))).toBe(30);
    expect(retryAfter(() => limiter.take('2.2.2.2'))).toBeUndefined();
    now += 30_000;
    expect(retryAfter(() => limiter.take('1.1.1.1'))).toBeUndefined();
  });
});
