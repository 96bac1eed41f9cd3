// Comparing a presented secret with the expected one without leaking, through timing,
// how much of it matched or how long it is: both sides are hashed to SHA-256 first, so
// timingSafeEqual always compares 32 bytes.
import { createHash, timingSafeEqual } from 'node:crypto';

export const secretDigest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** Whether `given` is the secret whose digest is `expected` (from secretDigest). */
export function matchesSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(secretDigest(given), expected);
}
