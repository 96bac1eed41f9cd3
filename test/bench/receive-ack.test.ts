import { ackedOf, receiptHandlesOf } from '../../scripts/bench/scenarios/receive-ack.js';

describe('bench receive+ack: receipt handles read from the answer text', () => {
  test('finds every handle in order, whatever the bodies hold, as JSON.parse would', () => {
    const answer = {
      messages: [
        { id: 'a-0', body: '"receiptHandle":"fake" {"receiptHandle":"x"}', attributes: {}, receiptHandle: 'AAAAAAAAAAAAAAAAAAAAAA', receiveCount: 1, sentAt: 'now' },
        { id: 'a-1', body: 'é\n\\', attributes: {}, receiptHandle: 'zz.3', receiveCount: 2, sentAt: 'now' },
      ],
    };
    const text = JSON.stringify(answer);
    expect(receiptHandlesOf(text)).toEqual(['AAAAAAAAAAAAAAAAAAAAAA', 'zz.3']);
    expect(receiptHandlesOf(JSON.stringify({ messages: [] }))).toEqual([]);
  });

  test('a handle with an escape in it is read by JSON.parse', () => {
    const text = JSON.stringify({ messages: [{ receiptHandle: 'a"b\\c' }] });
    expect(receiptHandlesOf(text)).toEqual(['a"b\\c']);
  });
});

describe('bench receive+ack, combined: acked read from the end of the answer', () => {
  test('whatever the bodies hold', () => {
    const messages = [{ id: 'a', body: ',"acked":99,', attributes: {}, receiptHandle: 'h', receiveCount: 1, sentAt: 'now' }];
    expect(ackedOf(JSON.stringify({ messages, acked: 7, unknown: ['x'] }))).toBe(7);
    expect(ackedOf(JSON.stringify({ messages: [], acked: 0, unknown: [] }))).toBe(0);
    expect(() => ackedOf(JSON.stringify({ messages: [] }))).toThrow(/without acked/);
  });
});
