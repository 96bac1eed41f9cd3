import { describe, expect, test } from '@jest/globals';
import { parseTarget, queueTarget, subscriptionTarget } from '../../src/broker/targets.js';

describe('delivery targets', () => {
  test('queue and subscription targets parse back to their names', () => {
    expect(queueTarget('orders')).toBe('queue:orders');
    expect(subscriptionTarget('news', 'reader')).toBe('sub:news/reader');
    expect(parseTarget(queueTarget('a.b-c'))).toEqual({ queue: 'a.b-c' });
    expect(parseTarget(subscriptionTarget('news', 'reader'))).toEqual({ topic: 'news', subscription: 'reader' });
  });

  test('anything else is no target', () => {
    for (const s of ['', 'orders', 'topic:news', 'sub:news', 'queue']) expect(parseTarget(s)).toBeUndefined();
  });
});
