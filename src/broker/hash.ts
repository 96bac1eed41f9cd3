/**
 * A fast non-cryptographic 64-bit digest (two murmur3-style 32-bit lanes) of a byte
 * image, as 16 hex digits. Replicas compare it to detect divergence; nobody attacks it.
 */
export function hashBytes(bytes: Uint8Array): string {
  let h1 = 0x9747b28c ^ bytes.length;
  let h2 = 0x85ebca6b ^ bytes.length;
  const words = bytes.length >>> 2;
  const aligned = (bytes.byteOffset & 3) === 0;
  const view = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, words) : null;
  for (let i = 0; i < words; i++) {
    let k = view !== null
      ? view[i]
      : (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= Math.imul(k, 0x2c1b3c6d) ^ i;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2, 9) + 0x38b34ae5) | 0;
  }
  for (let i = words * 4; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i], 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i], 0x5bd1e995);
  }
  return hex(fmix(h1 ^ h2)) + hex(fmix(h2 + h1));
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
