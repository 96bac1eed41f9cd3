// The receive answer written by hand is JSON.stringify's text, whatever the strings hold.
import { describe, expect, test } from '@jest/globals';
import type { ReceivedView } from '../../src/broker/index.js';
import { jsonString, receivedJson } from '../../src/api/received-json.js';

const awkward = [
  '',
  'plain text',
  'm'.repeat(1024),
  'say "hi"',
  'back\\slash',
  'line\nbreak\ttab\r\u0000\u0001\u001f',
  '\u007f delete and \u0080 latin',
  'ünïcödé ✓ 日本語',
  'emoji 😀 pair',
  'lone high \ud800 surrogate',
  'lone low \udc00 surrogate',
  '\u2028\u2029 separators',
  '</script>',
  'ends with a newline\n',
  '\n',
  '"',
  '\\',
];

function view(body: string, attributes: Record<string, string> = {}, n = 1): ReceivedView {
  return { id: `01HZX${n}`, body, attributes, receiptHandle: `handle-${n}_x`, receiveCount: n, sentAt: new Date(1_700_000_000_000 + n).toISOString() };
}

describe('receivedJson', () => {
  test.each(awkward.map((s) => [JSON.stringify(s), s]))('string %s', (_, s) => {
    expect(jsonString(s)).toBe(JSON.stringify(s));
  });

  test('an empty answer, one message, and many with attributes', () => {
    expect(receivedJson([])).toBe(JSON.stringify({ messages: [] }));
    expect(receivedJson([view('x')])).toBe(JSON.stringify({ messages: [view('x')] }));
    const protoKey = JSON.parse('{"__proto__": "p", "k": "v"}') as Record<string, string>;
    const many = awkward.map((s, i) => view(s, i % 3 === 0 ? {} : { [s]: s, '2': 'two', a: 'b', ...(i % 3 === 2 ? protoKey : {}) }, i));
    many.push(view('with proto key', protoKey, 99));
    expect(receivedJson(many)).toBe(JSON.stringify({ messages: many }));
    expect(JSON.parse(receivedJson(many))).toEqual(JSON.parse(JSON.stringify({ messages: many })));
  });

  test('a receive that also acknowledged: acked and unknown after the messages', () => {
    const ack = { acked: 3, unknown: ['gone-1', ...awkward] };
    expect(receivedJson([], { acked: 0, unknown: [] })).toBe(JSON.stringify({ messages: [], acked: 0, unknown: [] }));
    const two = [view('a'), view('b\n', { k: 'v' }, 2)];
    expect(receivedJson(two, ack)).toBe(JSON.stringify({ messages: two, ...ack }));
  });
});
