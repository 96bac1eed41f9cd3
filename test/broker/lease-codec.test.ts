import { commandSchema, decodeCommand, encodeCommand, parseCommand, type Command } from '../../src/broker/commands.js';
import { BrokerError } from '../../src/broker/errors.js';
import { Broker } from '../../src/broker/index.js';
import { VALIDATED_LEASE_TAG, encodeLeaseBinary } from '../../src/broker/lease-codec.js';
import { Harness, TEST_RECEIPT_KEY } from './harness.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
/** How the previous version wrote a command it validated: 0x03, then the JSON. */
const validatedJson = (c: Command) => new Uint8Array([0x03, ...utf8(JSON.stringify(parseCommand(c)))]);

const HANDLES = ['AAAAAAAAAAAAAAAAAAAAAA', 'zz9.3', 'h'.repeat(256)];
const EXAMPLES: Command[] = [
  { type: 'queue.receive', user: 'alice', queue: 'jobs' },
  { type: 'queue.receive', user: 'alice', queue: 'jobs', max: 10, visibilityTimeoutMs: 0, idempotencyKey: 'k 1', receiptKey: TEST_RECEIPT_KEY },
  { type: 'subscription.receive', user: 'bob', topic: 't.1', subscription: 's_1', max: 100, visibilityTimeoutMs: 43_200_000 },
  { type: 'queue.ack', user: 'alice', queue: 'jobs', receiptHandles: HANDLES },
  { type: 'subscription.ack', user: 'bob', topic: 't', subscription: 's', receiptHandles: ['x'], idempotencyKey: '~' },
  { type: 'queue.nack', user: 'alice', queue: 'jobs', receiptHandles: HANDLES, delayMs: 900_000 },
  { type: 'subscription.nack', user: 'bob', topic: 't', subscription: 's', receiptHandles: ['é—✓'] },
];

describe('lease commands in binary (receive, ack, nack)', () => {
  test.each(EXAMPLES.map((c) => [c.type, c] as const))('%s is written in the binary form and decodes to what the schema gives', (_, c) => {
    const bytes = encodeCommand(c);
    expect(bytes[0]).toBe(VALIDATED_LEASE_TAG);
    expect(decodeCommand(bytes)).toEqual(parseCommand(c));
  });

  test('fields the schema does not know are left out, as the schema strips them', () => {
    const c = { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: ['h'], extra: 1, max: 3 } as unknown as Command;
    expect(decodeCommand(encodeCommand(c))).toEqual({ type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: ['h'] });
  });

  test('what the checks refuse goes the schema way: plain JSON refused on apply, or validated JSON', () => {
    const refused: unknown[] = [
      { type: 'queue.receive', user: 'a', queue: 'q', max: 0 },
      { type: 'queue.receive', user: 'a', queue: 'q', max: 101 },
      { type: 'queue.receive', user: 'a', queue: 'q', max: 2.5 },
      { type: 'queue.receive', user: 'a', queue: '-q' },
      { type: 'queue.receive', user: 'a', queue: 'q', receiptKey: 'abc' },
      { type: 'queue.receive', user: 'a', queue: 'q', visibilityTimeoutMs: 43_200_001 },
      { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: [] },
      { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: [''] },
      { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: ['h'.repeat(257)] },
      { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: Array.from({ length: 101 }, () => 'h') },
      { type: 'queue.ack', user: 'a b', queue: 'q', receiptHandles: ['h'] },
      { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: ['h'], idempotencyKey: 'tab\there' },
      { type: 'queue.nack', user: 'a', queue: 'q', receiptHandles: ['h'], delayMs: -1 },
      { type: 'subscription.ack', user: 'a', topic: 't', receiptHandles: ['h'] },
    ];
    for (const c of refused) {
      const bytes = encodeCommand(c as Command);
      expect(bytes[0]).toBe('{'.charCodeAt(0));
      expect(() => decodeCommand(bytes)).toThrow(BrokerError);
    }
    // A lone surrogate would not survive UTF-8; the schema takes it, so JSON keeps it exactly.
    const lone = { type: 'queue.ack', user: 'a', queue: 'q', receiptHandles: ['\ud800x'] } as Command;
    expect(encodeLeaseBinary(lone)).toBeUndefined();
    expect(encodeCommand(lone)[0]).toBe(0x03);
    expect(decodeCommand(encodeCommand(lone))).toEqual(lone);
  });

  test('on random commands the binary form holds only what the schema accepts, as the schema returns it', () => {
    const seed = Number(process.env.SEED ?? 1234);
    let state = seed;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const names = ['a', 'q.1', '', '-x', 'n'.repeat(80), 'n'.repeat(81), 'ü', 7];
    const ints = [undefined, 0, 1, 10, 100, 101, -1, 1.5, 900_000, 900_001, 43_200_000, Number.NaN, '5'];
    const handles = () => pick([undefined, [], ['h'], ['', 'h'], ['\ud800'], Array.from({ length: 100 }, (_, i) => `h${i}`), Array.from({ length: 101 }, () => 'h'), [3], 'h']);
    const types = ['queue.receive', 'queue.ack', 'queue.nack', 'subscription.receive', 'subscription.ack', 'subscription.nack'];
    let binary = 0;
    for (let i = 0; i < 20_000; i++) {
      const c: Record<string, unknown> = { type: pick(types), user: pick(names) };
      if (rand() < 0.8) c.queue = pick(names);
      if (rand() < 0.5) c.topic = pick(names);
      if (rand() < 0.5) c.subscription = pick(names);
      if (rand() < 0.3) c.idempotencyKey = pick(['k', '', 'é', 'x'.repeat(128), 'x'.repeat(129)]);
      for (const field of ['max', 'visibilityTimeoutMs', 'delayMs']) if (rand() < 0.5) c[field] = pick(ints);
      if (rand() < 0.3) c.receiptKey = pick([TEST_RECEIPT_KEY, 'ab', TEST_RECEIPT_KEY.toUpperCase()]);
      if (rand() < 0.8) c.receiptHandles = handles();
      const bytes = encodeLeaseBinary(c as Command);
      if (bytes === undefined) continue;
      binary++;
      const parsed = commandSchema.safeParse(c);
      if (!parsed.success) throw new Error(`seed ${seed}: the binary form took what the schema refuses: ${JSON.stringify(c)}`);
      expect(decodeCommand(bytes)).toEqual(parsed.data);
    }
    expect(binary).toBeGreaterThan(100);
  });

  test('a corrupt lease entry is validation_failed, not a crash', () => {
    const bytes = encodeCommand(EXAMPLES[3]);
    expect(() => decodeCommand(bytes.subarray(0, bytes.length - 3))).toThrow(BrokerError);
    const wrongKind = bytes.slice();
    wrongKind[1] = 9;
    expect(() => decodeCommand(wrongKind)).toThrow(BrokerError);
    expect(() => decodeCommand(new Uint8Array([...bytes, 0]))).toThrow(BrokerError);
  });

  test('a log of the previous version (receives and acks in validated JSON) replays to the same state and answers', () => {
    // The same history applied once as the previous version wrote it and once as this
    // one writes it: same results, same state hash.
    const setup: Command[] = [
      { type: 'user.register', username: 'alice', passwordHash: 'h' },
      { type: 'queue.create', user: 'alice', name: 'jobs', maxReceives: 2 },
      { type: 'queue.send', user: 'alice', queue: 'jobs', batch: true, messages: [{ body: 'one' }, { body: 'two' }, { body: 'three' }] },
    ];
    const old = new Harness();
    const now = new Harness();
    for (const c of setup) {
      old.ok(c);
      now.ok(c);
    }
    const receive: Command = { type: 'queue.receive', user: 'alice', queue: 'jobs', max: 2, visibilityTimeoutMs: 1000, receiptKey: TEST_RECEIPT_KEY };
    const a = old.applyBytes(validatedJson(receive));
    const b = now.applyBytes(encodeCommand(receive));
    expect(b).toEqual(a);
    const handles = (a as { value: { messages: Array<{ receiptHandle: string }> } }).value.messages.map((m) => m.receiptHandle);
    const ack: Command = { type: 'queue.ack', user: 'alice', queue: 'jobs', receiptHandles: [handles[0], 'stale'] };
    const nack: Command = { type: 'queue.nack', user: 'alice', queue: 'jobs', receiptHandles: [handles[1]] };
    for (const c of [ack, nack]) {
      const x = old.applyBytes(validatedJson(c));
      expect(now.applyBytes(encodeCommand(c))).toEqual(x);
    }
    expect(now.broker.stateHash()).toBe(old.broker.stateHash());
    expect(now.broker.getQueue('alice', 'jobs')).toEqual(old.broker.getQueue('alice', 'jobs'));
    // And the older plain JSON form (logs written before validated tags) still applies.
    const plain = new Broker();
    expect(plain.apply(utf8(JSON.stringify(setup[0])), { index: 1, term: 1, time: 1 }).ok).toBe(true);
  });
});
