import { describe, expect, test } from '@jest/globals';
import { ClientAddressResolver, normalizeAddress } from '../../src/api/client-address.js';

describe('ClientAddressResolver', () => {
  const alb = new ClientAddressResolver(['10.0.0.0/24', '10.0.1.0/24']);

  test('trusts no X-Forwarded-For by default (the local cluster)', () => {
    expect(new ClientAddressResolver().resolve('127.0.0.1', '203.0.113.9')).toBe('127.0.0.1');
  });

  test('ignores X-Forwarded-For from a peer outside the proxy CIDRs', () => {
    expect(alb.resolve('198.51.100.7', '203.0.113.9')).toBe('198.51.100.7');
  });

  test('takes the right-most address not written by a trusted proxy', () => {
    // The client made up the first entry; the load balancer appended the real one.
    expect(alb.resolve('10.0.0.15', '1.2.3.4, 203.0.113.9')).toBe('203.0.113.9');
    // Two trusted hops: skipped from the right.
    expect(alb.resolve('10.0.0.15', '1.2.3.4, 203.0.113.9, 10.0.1.20')).toBe('203.0.113.9');
    // Several headers count as one list.
    expect(alb.resolve('10.0.0.15', ['1.2.3.4', '203.0.113.9'])).toBe('203.0.113.9');
  });

  test('a garbage hop stops the walk at the last trusted writer', () => {
    expect(alb.resolve('10.0.0.15', 'not-an-ip')).toBe('10.0.0.15');
    expect(alb.resolve('10.0.0.15', '203.0.113.9, junk, 10.0.1.4')).toBe('10.0.1.4');
  });

  test('IPv4-mapped IPv6 peers and ports are normalized; IPv6 CIDRs work', () => {
    expect(normalizeAddress('::ffff:10.0.0.15')).toBe('10.0.0.15');
    expect(normalizeAddress('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(normalizeAddress('203.0.113.9:5000')).toBe('203.0.113.9');
    expect(alb.resolve('::ffff:10.0.0.15', '203.0.113.9')).toBe('203.0.113.9');
    const v6 = new ClientAddressResolver(['2001:db8::/32']);
    expect(v6.resolve('2001:db8::5', '2001:db9::1')).toBe('2001:db9::1');
  });
});
