import { decodeCommand } from './commands.js';
import { NO_ATTRIBUTES, storedAttributes, type InlineBody, type Message } from './message.js';
import { binaryBodies, readBinaryAttributes, UNVALIDATED_SEND_TAG, VALIDATED_SEND_TAG } from './send-codec.js';

/** The payload (command bytes) of the committed entry at a log index, or undefined when
 *  the log no longer holds it; structurally the node's EntryReader. */
export type EntryReader = (index: number) => Uint8Array | undefined;

/** A live message's entry is not in the log: the log dropped an entry the state still
 *  needs (retainFrom was not honoured). A bug, never answered as an empty body. */
export class MessageBodyMissingError extends Error {
  constructor(
    readonly index: number,
    readonly pos: number,
    reason: string,
  ) {
    super(`the body of message ${index}/${pos} is not in the log: ${reason}`);
    this.name = 'MessageBodyMissingError';
  }
}

/** One send's entry, parsed just enough to read any of its bodies. */
interface ParsedEntry {
  /** Counted against the cache's bound: the entry's length. */
  readonly size: number;
  /** Messages in the entry. */
  readonly count: number;
  body(pos: number): string;
  attributes(pos: number): Readonly<Record<string, string>>;
}

/** About 16 entries of 100 KiB-1 MiB: a receive of up to 100 messages, mostly from the
 *  same few recent sends, decodes each entry once. */
const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * Reads message bodies from log entries for answers (Broker.answer): each entry is
 * parsed once for the several messages taken from it, and kept in a small cache bounded
 * by bytes (least recently used first out). Not replicated state: only the answering
 * node has one, and what it holds never changes an answer (committed entries are final).
 */
export class EntryBodies {
  private readonly entries = new Map<number, ParsedEntry>();
  private bytes = 0;
  /** The entry the last message came from: the next one is usually from it too. */
  private lastIndex = -1;
  private last: ParsedEntry | undefined;

  constructor(private readonly maxBytes = DEFAULT_CACHE_BYTES) {}

  /** Calls `f` with the body and attributes of `msg`; throws MessageBodyMissingError if
   *  its entry is gone or holds no such message. */
  read<T>(msg: Message, read: EntryReader, f: (body: string, attributes: Readonly<Record<string, string>>) => T): T {
    if (msg.inline !== null) return f(msg.inline.body, msg.inline.attributes);
    return this.readAt(msg.bodyIndex, msg.bodyPos, read, f);
  }

  /** The same for the body at message `pos` of the entry at `index`. */
  readAt<T>(index: number, pos: number, read: EntryReader, f: (body: string, attributes: Readonly<Record<string, string>>) => T): T {
    const entry = index === this.lastIndex ? (this.last as ParsedEntry) : this.entry(index, read);
    if (pos >= entry.count) throw new MessageBodyMissingError(index, pos, 'the entry has no message at that position');
    return f(entry.body(pos), entry.attributes(pos));
  }

  private entry(index: number, read: EntryReader): ParsedEntry {
    const found = this.lookup(index, read);
    this.lastIndex = index;
    this.last = found;
    return found;
  }

  private lookup(index: number, read: EntryReader): ParsedEntry {
    const hit = this.entries.get(index);
    if (hit !== undefined) {
      this.entries.delete(index);
      this.entries.set(index, hit);
      return hit;
    }
    const data = read(index);
    if (data === undefined) throw new MessageBodyMissingError(index, 0, 'the log no longer holds the entry');
    const parsed = parseEntry(index, data);
    if (parsed.size > this.maxBytes) return parsed;
    this.entries.set(index, parsed);
    this.bytes += parsed.size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.size;
    }
    return parsed;
  }
}

function parseEntry(index: number, data: Uint8Array): ParsedEntry {
  if (data[0] === VALIDATED_SEND_TAG || data[0] === UNVALIDATED_SEND_TAG) {
    const at = binaryBodies(data);
    // Buffer's UTF-8 slice is the fastest decode for short strings; the proposer wrote
    // well-formed UTF-8 (encodeInto), so nothing needs a fatal decoder here.
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return {
      size: data.length,
      count: at.bodyStart.length,
      body: (pos) => buf.toString('utf8', at.bodyStart[pos], at.bodyEnd[pos]),
      attributes: (pos) => (at.attributes[pos] < 0 ? NO_ATTRIBUTES : storedAttributes(readBinaryAttributes(data, at.attributes[pos]))),
    };
  }
  // JSON entries, written by earlier versions: decoded and judged as apply did.
  let messages: InlineBody[];
  try {
    const c = decodeCommand(data);
    if (c.type !== 'queue.send' && c.type !== 'topic.publish') throw new Error(`a ${c.type} entry holds no messages`);
    messages = c.messages.map((m) => ({ body: m.body, attributes: storedAttributes(m.attributes) }));
  } catch (err) {
    throw new MessageBodyMissingError(index, 0, `the entry is not a send: ${(err as Error).message}`);
  }
  return { size: data.length, count: messages.length, body: (pos) => messages[pos].body, attributes: (pos) => messages[pos].attributes };
}
