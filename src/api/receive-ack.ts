// A receive that also acknowledges the previous batch (docs/API.md, Receive and
// acknowledge in one request): one request per batch instead of two, the way an AMQP
// consumer acknowledges without a round trip of its own. The ack and the receive stay
// two commands of the broker; this file holds what ties them together.
import { createHash } from 'node:crypto';

/**
 * The Idempotency-Key the ack part of a combined request carries when the request has
 * key `key`: the receive keeps `key` itself (so it replays as a plain receive does), the
 * ack a key derived from it, so that a repeat replays both halves and gives the same
 * combined answer. Deterministic, printable ASCII and at most 55 characters, as the
 * key pattern asks; a client would have to send this very string as a key of its own
 * to meet it.
 */
export function ackKeyOf(key: string): string {
  return `receive-ack:${createHash('sha256').update(key).digest('base64url')}`;
}
