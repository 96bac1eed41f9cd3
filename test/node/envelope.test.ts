import { encodeCommand, type Command } from '../../src/broker/index.js';
import { decodeCommand } from '../../src/broker/commands.js';
import { ENVELOPE_BYTES, decodeEnvelope, encodeEnvelope } from '../../src/node/envelope.js';

const send: Command = { type: 'queue.send', user: 'alice', queue: 'q', batch: true, messages: [{ body: 'x'.repeat(2000) }, { body: 'y' }] };
const ack: Command = { type: 'queue.ack', user: 'alice', queue: 'q', receiptHandles: ['h1'] };
const grant: Command = { type: 'queue.grant', user: 'alice', queue: 'q', username: 'bob', permissions: ['send'] };
const invalid: Command = { type: 'queue.send', user: 'alice', queue: 'q', batch: false, messages: [] };

describe('command envelope', () => {
  test('a command encoded with headroom is wrapped in place: the entry is a view of the same buffer', () => {
    const command = encodeCommand(send, ENVELOPE_BYTES);
    const entry = encodeEnvelope(9, 42, 1_700_000_000_000, command, ENVELOPE_BYTES);
    expect(entry.buffer).toBe(command.buffer);
    expect(entry.byteOffset).toBe(command.byteOffset);
    expect(entry.length).toBe(command.length);
    const env = decodeEnvelope(entry);
    expect(env).toMatchObject({ origin: 9, seq: 42, time: 1_700_000_000_000 });
    expect(Buffer.from(env.command).equals(Buffer.from(encodeCommand(send)))).toBe(true);
  });

  test.each([
    ['a send', send],
    ['an ack', ack],
    ['a JSON command', grant],
    ['a command that fails validation', invalid],
  ])('%s encodes to the same bytes after its headroom, which is left as zeros', (_name, command) => {
    const plain = encodeCommand(command);
    const roomy = encodeCommand(command, ENVELOPE_BYTES);
    expect(roomy.length).toBe(plain.length + ENVELOPE_BYTES);
    expect([...roomy.subarray(0, ENVELOPE_BYTES)].every((b) => b === 0)).toBe(true);
    expect(Buffer.from(roomy.subarray(ENVELOPE_BYTES)).equals(Buffer.from(plain))).toBe(true);
  });

  test('without headroom (or with too little) the envelope is a new buffer holding the command alone', () => {
    const command = encodeCommand(grant);
    const entry = encodeEnvelope(1, 2, 3, command);
    expect(entry.buffer).not.toBe(command.buffer);
    expect(decodeCommand(decodeEnvelope(entry).command)).toEqual(grant);
    const shortRoom = encodeCommand(grant, 4);
    const fromShort = encodeEnvelope(1, 2, 3, shortRoom, 4);
    expect(Buffer.from(fromShort).equals(Buffer.from(entry))).toBe(true);
  });
});
