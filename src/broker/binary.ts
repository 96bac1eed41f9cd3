import { BrokerError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes ahead of a string's UTF-8: its length, a u32 (little-endian). */
export const STR_LENGTH_BYTES = 4;

/** Writes the length prefix of a string of `utf8Length` bytes at `at`. */
export function writeStrLength(view: DataView, at: number, utf8Length: number): void {
  view.setUint32(at, utf8Length, true);
}

/** Appends primitives to a growing byte buffer (snapshot images). */
export class BinaryWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(private readonly initial = 64 * 1024) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  get size(): number {
    return this.pos;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** Starts over, keeping the buffer (a reusable scratch writer). */
  reset(): void {
    this.pos = 0;
  }

  /** Hands over what was written so far and starts a fresh buffer (chunked output). */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(this.initial);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    return out;
  }

  u8(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n;
  }

  /** `n` zero bytes. */
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  bool(b: boolean): void {
    this.u8(b ? 1 : 0);
  }

  /** Unsigned LEB128 for non-negative safe integers. */
  uint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** null as 0, n as n + 1. */
  optUint(n: number | null): void {
    this.uint(n === null ? 0 : n + 1);
  }

  /** Any number, compactly when it is a small integer (deltas of times and positions):
   *  zigzag varint, shifted to leave 1 as the mark of an f64 that follows. */
  num(n: number): void {
    if (Number.isInteger(n) && Math.abs(n) < 2 ** 50) {
      this.uint((n >= 0 ? n * 2 : -n * 2 - 1) * 2);
    } else {
      this.uint(1);
      this.f64(n);
    }
  }

  f64(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  str(s: string): void {
    // Length prefix as a fixed u32 written after encoding, so the string is encoded once.
    const max = s.length * 3;
    this.ensure(STR_LENGTH_BYTES + max);
    const start = this.pos + STR_LENGTH_BYTES;
    // A destination bounded to what the string can need is markedly faster to encode into.
    const { written } = encoder.encodeInto(s, this.buf.subarray(start, start + max));
    writeStrLength(this.view, this.pos, written);
    this.pos = start + written;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** Reads what BinaryWriter wrote; any overrun is corrupt input (`what` names it in the error). */
export class BinaryReader {
  protected pos = 0;
  private readonly view: DataView;

  constructor(
    protected readonly buf: Uint8Array,
    private readonly what = 'snapshot image',
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  /** Where the next read starts. */
  get position(): number {
    return this.pos;
  }

  /** Moves to a position an earlier read returned. */
  seek(pos: number): void {
    this.pos = pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  bool(): boolean {
    return this.u8() === 1;
  }

  uint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw this.corrupt();
    }
  }

  optUint(): number | null {
    const n = this.uint();
    return n === 0 ? null : n - 1;
  }

  num(): number {
    const v = this.uint();
    if (v === 1) return this.f64();
    if (v % 2 !== 0) throw this.corrupt();
    const z = v / 2;
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f64(): number {
    this.need(8);
    const n = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return n;
  }

  str(): string {
    const len = this.strLength();
    this.need(len);
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  /** Steps over a string without decoding it; returns its UTF-8 length. */
  skipStr(): number {
    const len = this.strLength();
    this.need(len);
    this.pos += len;
    return len;
  }

  /** Reads a string's length prefix (see STR_LENGTH_BYTES). */
  private strLength(): number {
    this.need(STR_LENGTH_BYTES);
    const len = this.view.getUint32(this.pos, true);
    this.pos += STR_LENGTH_BYTES;
    return len;
  }

  protected need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.corrupt();
  }

  corrupt(): BrokerError {
    return new BrokerError('validation_failed', `${this.what} is truncated or corrupt`);
  }
}
