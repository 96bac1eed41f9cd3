// Comparing a presented secret with the expected one without leaking, through timing,
// how much of it matched or how long it is: both sides are hashed to SHA-256 first, so
// timingSafeEqual always compares 32 bytes.
import { hash, timingSafeEqual } from 'node:crypto';

/** One-shot crypto.hash: every gRPC message checks two secrets, and a Hash object per
 *  digest (createHash) cost about twice as much. */
export const secretDigest = (secret: string): Buffer => hash('sha256', secret, 'buffer');

/** Whether `given` is the secret whose digest is `expected` (from secretDigest). */
export function matchesSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(secretDigest(given), expected);
}
