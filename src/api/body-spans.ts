// The usual send read straight from its bytes. A batch of 100 kilobyte bodies went
// through JSON.parse (100 strings of a kilobyte each on the heap, alive until the command
// is encoded: most of what a scavenge copies under load), then back into UTF-8 for the
// log. For the shape almost every send has, exactly `{"body": "..."}` or
// `{"messages": [{"body": "..."}, ...]}` with bodies free of escapes, a body's bytes in
// the request already are its UTF-8: this finds them, and the command is encoded from
// them (the broker's encodeBodySpansCommand). Anything else (an escape, another field,
// too many messages, a body over the limit, anything invalid) returns undefined and
// takes the JSON path, so every answer and every error stays what it was.
import { isUtf8 } from 'node:buffer';
import { MAX_BATCH, MAX_MESSAGE_BYTES } from '../broker/index.js';

/** Body-only messages as ranges of the request's bytes. */
export class BodySpans {
  constructor(
    readonly source: Buffer,
    /** Start and end of each body in `source`. */
    readonly spans: readonly number[],
    /** `{messages: [...]}` rather than one message. */
    readonly batch: boolean,
  ) {}

  get count(): number {
    return this.spans.length / 2;
  }

  /** The messages as JSON.parse would have made them. */
  messages(): Array<{ body: string }> {
    const out: Array<{ body: string }> = [];
    for (let k = 0; k < this.spans.length; k += 2) out.push({ body: this.source.toString('utf8', this.spans[k], this.spans[k + 1]) });
    return out;
  }
}

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const BACKSLASH = 0x5c;
const BODY_KEY = Buffer.from('"body"');
const MESSAGES_KEY = Buffer.from('"messages"');
/** Each byte of a 32-bit word: 0x20 (the first byte JSON takes unescaped) and the high
 *  bit (0x80808080 as an int32). */
const SPACES = 0x20202020;
const HIGH_BITS = 0x80808080 | 0;

/** `{"body": ...}` or `{"messages": [...]}` as described above, else undefined. */
export function scanBodySpans(raw: Buffer): BodySpans | undefined {
  // A backslash can only stand in a string, as an escape, and a body with an escape
  // takes the JSON path: one native search of the request spares testing each body for it.
  if (raw.includes(BACKSLASH)) return undefined;
  const scan = new Scan(raw);
  const open = scan.space(0);
  if (raw[open] !== OPEN_OBJECT) return undefined;
  const afterMessagesKey = scan.key(scan.space(open + 1), MESSAGES_KEY);
  const batch = afterMessagesKey >= 0;
  let i: number;
  if (batch) {
    i = scan.colon(afterMessagesKey);
    if (i < 0 || raw[i] !== OPEN_ARRAY) return undefined;
    i = scan.space(i + 1);
    for (;;) {
      i = scan.message(i);
      if (i < 0 || scan.spans.length / 2 > MAX_BATCH) return undefined;
      i = scan.space(i);
      if (raw[i] === CLOSE_ARRAY) break;
      if (raw[i] !== COMMA) return undefined;
      i = scan.space(i + 1);
    }
    i = scan.space(i + 1);
    if (raw[i] !== CLOSE_OBJECT) return undefined;
    i++;
  } else {
    i = scan.message(open);
    if (i < 0) return undefined;
  }
  if (scan.space(i) !== raw.length) return undefined;
  // Outside strings only ASCII was accepted; a body with other bytes must be UTF-8, as
  // the JSON path's decoder requires of the whole request.
  if (scan.nonAscii && !isUtf8(raw)) return undefined;
  return new BodySpans(raw, scan.spans, batch);
}

class Scan {
  readonly spans: number[] = [];
  nonAscii = false;
  /** The request's bytes as 32-bit words, from its first 4-byte-aligned byte on. */
  private readonly words: Int32Array;
  private readonly wordsFrom: number;

  constructor(private readonly raw: Buffer) {
    this.wordsFrom = (4 - (raw.byteOffset & 3)) & 3;
    const length = Math.max(0, (raw.length - this.wordsFrom) >> 2);
    this.words = length === 0 ? new Int32Array(0) : new Int32Array(raw.buffer, raw.byteOffset + this.wordsFrom, length);
  }

  /** The index of the first byte from `i` on that is not JSON whitespace. */
  space(i: number): number {
    const raw = this.raw;
    while (i < raw.length) {
      const c = raw[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    return i;
  }

  /** The index after `key` when it starts at `i`, else -1. */
  key(i: number, key: Buffer): number {
    if (i < 0 || i + key.length > this.raw.length) return -1;
    for (let k = 0; k < key.length; k++) if (this.raw[i + k] !== key[k]) return -1;
    return i + key.length;
  }

  /** The index of the value after a colon (with whitespace around it) at `i`, else -1. */
  colon(i: number): number {
    if (i < 0) return -1;
    i = this.space(i);
    return this.raw[i] === COLON ? this.space(i + 1) : -1;
  }

  /** `{"body": "..."}` at `i`: records the body's range; the index after it, else -1. */
  message(i: number): number {
    const raw = this.raw;
    if (raw[i] !== OPEN_OBJECT) return -1;
    i = this.colon(this.key(this.space(i + 1), BODY_KEY));
    if (i < 0 || raw[i] !== QUOTE) return -1;
    const start = i + 1;
    const end = raw.indexOf(QUOTE, start);
    if (end < 0 || end - start > MAX_MESSAGE_BYTES || !this.plain(start, end)) return -1;
    this.spans.push(start, end);
    i = this.space(end + 1);
    return raw[i] === CLOSE_OBJECT ? i + 1 : -1;
  }

  /**
   * Whether bytes [start, end) hold no control character (which JSON refuses
   * unescaped), noting any byte outside ASCII (scanBodySpans has ruled out escapes).
   * Four bytes at a time where the words are aligned (the test of "Bit Twiddling
   * Hacks" for a byte below 0x20): a kilobyte body is 256 steps instead of 1,024.
   */
  private plain(start: number, end: number): boolean {
    const raw = this.raw;
    let i = start;
    const firstWord = Math.max(0, Math.ceil((start - this.wordsFrom) / 4));
    const wordsEnd = Math.max(firstWord, Math.floor((end - this.wordsFrom) / 4));
    const alignedStart = this.wordsFrom + firstWord * 4;
    for (; i < end && i < alignedStart; i++) if (!this.plainByte(raw[i])) return false;
    if (i === alignedStart) {
      const words = this.words;
      let high = 0;
      for (let w = firstWord; w < wordsEnd; w++) {
        const x = words[w];
        // `| 0` keeps the subtraction in 32-bit integers (it wraps, as the test needs).
        if (((x - SPACES) | 0) & ~x & HIGH_BITS) return false;
        high |= x;
      }
      if (high & HIGH_BITS) this.nonAscii = true;
      i = this.wordsFrom + wordsEnd * 4;
    }
    for (; i < end; i++) if (!this.plainByte(raw[i])) return false;
    return true;
  }

  private plainByte(c: number): boolean {
    if (c < 0x20) return false;
    if (c >= 0x80) this.nonAscii = true;
    return true;
  }
}
