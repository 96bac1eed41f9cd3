import { createCipheriv, type Cipher } from 'node:crypto';

/** The cluster's receipt key: 32 random bytes as 64 hex digits, proposed by the leader
 *  in the first receive that finds none (see README, Receipt handles). */
export const RECEIPT_KEY_PATTERN = /^[0-9a-f]{64}$/;

const BLOCK = 16;

/**
 * Receipt handles a client cannot compute: each is one AES-256 block, under the
 * replicated cluster key, of (channel uid, message sequence in that channel, lease
 * number), base64url — 128 bits. A block cipher is a keyed pseudorandom permutation:
 * deterministic (every replica derives the same handle), and distinct leases give
 * distinct handles, never colliding. AES-ECB over whole blocks is used as that PRF, not
 * as a mode of encrypting data; it costs ~0.1 µs a handle where an HMAC costs ~3 µs,
 * which matters at 100 handles per receive inside the apply loop. node:crypto here is
 * pure computation: no I/O, clock or randomness.
 */
export class ReceiptMinter {
  private readonly cipher: Cipher;

  constructor(readonly keyHex: string) {
    this.cipher = createCipheriv('aes-256-ecb', Buffer.from(keyHex, 'hex'), null);
    this.cipher.setAutoPadding(false);
  }

  /** Handles for leases given as [channelUid, seq, leaseNumber] triples, in order. */
  mint(leases: readonly number[]): string[] {
    const n = leases.length / 3;
    const input = Buffer.alloc(n * BLOCK);
    for (let i = 0; i < n; i++) {
      const at = i * BLOCK;
      // Two bytes of domain tag (0x0001: a lease), then the lease's identity.
      input.writeUInt16BE(1, at);
      input.writeUInt32BE(leases[3 * i] >>> 0, at + 2);
      input.writeUIntBE(leases[3 * i + 1], at + 6, 6);
      input.writeUInt32BE(leases[3 * i + 2] >>> 0, at + 12);
    }
    const out = this.cipher.update(input);
    const handles = new Array<string>(n);
    for (let i = 0; i < n; i++) handles[i] = out.toString('base64url', i * BLOCK, (i + 1) * BLOCK);
    return handles;
  }
}

/** Handles of leases made before the cluster had a key (logs and snapshots of earlier
 *  versions): the receive's log index and the position in its answer. Kept so that
 *  replaying such a log rebuilds the same state. */
export function legacyReceipt(index: number, pos: number): string {
  return `${index.toString(36)}.${pos.toString(36)}`;
}
