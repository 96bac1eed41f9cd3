/**
 * A fast non-cryptographic 64-bit digest (two murmur3-style 32-bit lanes) of a byte
 * stream, as 16 hex digits. Replicas compare it to detect divergence; nobody attacks it.
 * Fed in chunks, it gives the same digest as over the concatenation.
 */
export class StreamHash {
  private h1: number;
  private h2: number;
  private words = 0;
  private length = 0;
  /** Up to three bytes left over from the previous chunk. */
  private carry = 0;
  private carried = 0;

  constructor(seed = 0) {
    this.h1 = 0x9747b28c ^ seed;
    this.h2 = 0x85ebca6b ^ seed;
  }

  update(bytes: Uint8Array): void {
    this.length += bytes.length;
    let i = 0;
    while (this.carried > 0 && this.carried < 4 && i < bytes.length) {
      this.carry |= bytes[i++] << (8 * this.carried);
      this.carried++;
      if (this.carried === 4) {
        this.mix(this.carry >>> 0);
        this.carry = 0;
        this.carried = 0;
        break;
      }
    }
    const end = i + ((bytes.length - i) & ~3);
    for (; i < end; i += 4) {
      this.mix((bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0);
    }
    for (; i < bytes.length; i++) {
      this.carry |= bytes[i] << (8 * this.carried);
      this.carried++;
    }
  }

  digest(): string {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let k = 0; k < this.carried; k++) {
      const b = (this.carry >>> (8 * k)) & 0xff;
      h1 = Math.imul(h1 ^ b, 0x01000193);
      h2 = Math.imul(h2 ^ b, 0x5bd1e995);
    }
    h1 ^= this.length;
    h2 ^= Math.floor(this.length / 2 ** 32);
    return hex(fmix(h1 ^ h2)) + hex(fmix((h2 + h1) | 0));
  }

  private mix(k: number): void {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    let h1 = this.h1 ^ k;
    h1 = (h1 << 13) | (h1 >>> 19);
    this.h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let h2 = this.h2 ^ (Math.imul(k, 0x2c1b3c6d) ^ this.words++);
    h2 = (h2 << 17) | (h2 >>> 15);
    this.h2 = (Math.imul(h2, 9) + 0x38b34ae5) | 0;
  }
}

export function hashBytes(bytes: Uint8Array): string {
  const h = new StreamHash();
  h.update(bytes);
  return h.digest();
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
