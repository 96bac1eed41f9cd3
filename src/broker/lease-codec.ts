import { BinaryReader, BinaryWriter } from './binary.js';
import type { Command, CommandOf } from './commands.js';
import { BrokerError } from './errors.js';
import {
  IDEMPOTENCY_KEY_PATTERN, MAX_BATCH, MAX_DELAY_MS, MAX_RECEIPT_HANDLE_LENGTH, MAX_RECEIVE,
  MAX_VISIBILITY_TIMEOUT_MS, NAME_PATTERN, isWellFormed,
} from './limits.js';
import { RECEIPT_KEY_PATTERN } from './receipts.js';

/**
 * A compact binary form for the commands a consumer sends with every batch it takes:
 * receive, ack and nack, of a queue or a subscription. Followers decode it without JSON
 * or the schema, and the proposing node checks these few fields by hand instead of
 * running the command schema (commands.ts): the checks below are the schema's rules,
 * from the same constants. A command they do not accept at once goes the schema's way
 * (validated JSON, or plain JSON refused on apply), so this form never holds a command
 * the schema would refuse (test/broker/lease-codec.test.ts compares both on random
 * commands). The first byte marks it validated, as VALIDATED_SEND_TAG does for sends.
 */
export const VALIDATED_LEASE_TAG = 0x04;

type LeaseCommand =
  | CommandOf<'queue.receive'> | CommandOf<'queue.ack'> | CommandOf<'queue.nack'>
  | CommandOf<'subscription.receive'> | CommandOf<'subscription.ack'> | CommandOf<'subscription.nack'>;

/** The kind byte after the tag: the command type. */
const KINDS: readonly LeaseCommand['type'][] = [
  'queue.receive', 'queue.ack', 'queue.nack', 'subscription.receive', 'subscription.ack', 'subscription.nack',
];
const KIND_OF = new Map<string, number>(KINDS.map((type, i) => [type, i + 1]));

/** Which optional fields follow, one bit each. */
const HAS_IDEMPOTENCY_KEY = 1;
const HAS_MAX = 2;
const HAS_VISIBILITY = 4;
const HAS_RECEIPT_KEY = 8;
const HAS_DELAY = 16;

/** Reused: these commands are small (at most 100 handles of 256 characters). */
const scratch = new BinaryWriter(4096);

const isName = (v: unknown): v is string => typeof v === 'string' && NAME_PATTERN.test(v);
const isIntIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isOptionalIntIn = (v: unknown, min: number, max: number): boolean => v === undefined || isIntIn(v, min, max);

function isHandleList(v: unknown): v is string[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_BATCH) return false;
  for (const h of v as unknown[]) {
    // Lone surrogates would not survive UTF-8: such a handle goes the JSON way.
    if (typeof h !== 'string' || h.length < 1 || h.length > MAX_RECEIPT_HANDLE_LENGTH || !isWellFormed(h)) return false;
  }
  return true;
}

/** The command schema's rules for the fields of a lease command (commands.ts). */
function accepted(c: LeaseCommand): boolean {
  const f = c as Partial<Record<string, unknown>>;
  if (!isName(f.user)) return false;
  if (f.idempotencyKey !== undefined && (typeof f.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(f.idempotencyKey))) return false;
  if (c.type.startsWith('queue.') ? !isName(f.queue) : !isName(f.topic) || !isName(f.subscription)) return false;
  if (c.type.endsWith('.receive')) {
    return isOptionalIntIn(f.max, 1, MAX_RECEIVE) && isOptionalIntIn(f.visibilityTimeoutMs, 0, MAX_VISIBILITY_TIMEOUT_MS) &&
      (f.receiptKey === undefined || (typeof f.receiptKey === 'string' && RECEIPT_KEY_PATTERN.test(f.receiptKey)));
  }
  return isHandleList(f.receiptHandles) && (!c.type.endsWith('.nack') || isOptionalIntIn(f.delayMs, 0, MAX_DELAY_MS));
}

/** The binary form of a receive, ack or nack whose fields pass the schema's rules;
 *  undefined for any other command, or one to leave to the schema; `headroom` bytes of
 *  zeros ahead of it (encodeCommand). */
export function encodeLeaseBinary(command: Command, headroom = 0): Uint8Array | undefined {
  const kind = KIND_OF.get(command.type);
  if (kind === undefined) return undefined;
  const c = command as LeaseCommand;
  if (!accepted(c)) return undefined;
  const receive = c.type === 'queue.receive' || c.type === 'subscription.receive' ? c : undefined;
  const nack = c.type === 'queue.nack' || c.type === 'subscription.nack' ? c : undefined;
  const flags = (c.idempotencyKey !== undefined ? HAS_IDEMPOTENCY_KEY : 0) |
    (receive?.max !== undefined ? HAS_MAX : 0) |
    (receive?.visibilityTimeoutMs !== undefined ? HAS_VISIBILITY : 0) |
    (receive?.receiptKey !== undefined ? HAS_RECEIPT_KEY : 0) |
    (nack?.delayMs !== undefined ? HAS_DELAY : 0);
  const w = scratch;
  w.reset();
  w.zeros(headroom);
  w.u8(VALIDATED_LEASE_TAG);
  w.u8(kind);
  w.u8(flags);
  w.str(c.user);
  if ('queue' in c) w.str(c.queue);
  else {
    w.str(c.topic);
    w.str(c.subscription);
  }
  if (c.idempotencyKey !== undefined) w.str(c.idempotencyKey);
  if (receive !== undefined) {
    if (receive.max !== undefined) w.uint(receive.max);
    if (receive.visibilityTimeoutMs !== undefined) w.uint(receive.visibilityTimeoutMs);
    if (receive.receiptKey !== undefined) w.str(receive.receiptKey);
  } else {
    // As a JSON array (readHandles).
    w.str(JSON.stringify((c as { receiptHandles: string[] }).receiptHandles));
    if (nack?.delayMs !== undefined) w.uint(nack.delayMs);
  }
  return w.bytes().slice();
}

/**
 * Reads what encodeLeaseBinary wrote. Strings are sliced out of the bytes with Buffer's
 * UTF-8 decoder, the fastest for short strings (the snapshot reader's fatal TextDecoder
 * costs several times more per call): the proposer wrote well-formed text (names by
 * their pattern, handles checked).
 */
class LeaseReader extends BinaryReader {
  private readonly text: Buffer;

  constructor(bytes: Uint8Array) {
    super(bytes, 'a lease command entry');
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A u32 byte length, then UTF-8, as BinaryWriter.str writes it. */
  override str(): string {
    this.need(4);
    const len = this.text.readUInt32LE(this.pos);
    this.pos += 4;
    this.need(len);
    const s = this.text.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

/** The command a VALIDATED_LEASE_TAG entry holds, with the fields the JSON form would
 *  have (absent ones left out). Trusted: the proposer checked it. */
export function decodeLeaseBinary(bytes: Uint8Array): Command {
  const r = new LeaseReader(bytes);
  r.u8(); // tag
  const type = KINDS[r.u8() - 1] as LeaseCommand['type'] | undefined;
  if (type === undefined) throw new BrokerError('validation_failed', `unknown lease command kind ${bytes[1]}`);
  const flags = r.u8();
  const c: Record<string, unknown> = { type, user: r.str() };
  if (type.startsWith('queue.')) c.queue = r.str();
  else {
    c.topic = r.str();
    c.subscription = r.str();
  }
  if (flags & HAS_IDEMPOTENCY_KEY) c.idempotencyKey = r.str();
  if (type.endsWith('.receive')) {
    if (flags & HAS_MAX) c.max = r.uint();
    if (flags & HAS_VISIBILITY) c.visibilityTimeoutMs = r.uint();
    if (flags & HAS_RECEIPT_KEY) c.receiptKey = r.str();
  } else {
    c.receiptHandles = readHandles(r);
    if (flags & HAS_DELAY) c.delayMs = r.uint();
  }
  if (!r.done) throw new BrokerError('validation_failed', 'trailing bytes after a lease command');
  return c as Command;
}

/** The handles as a JSON array in one string: V8's JSON parser hashes the strings it
 *  builds as it reads them, and apply looks every handle up in a Map, so this reads and
 *  looks up faster than slices of one string or a decode per handle (measured with
 *  scripts/bench-broker-apply.ts, acks of 100). */
function readHandles(r: LeaseReader): string[] {
  const handles: unknown = JSON.parse(r.str());
  if (!Array.isArray(handles) || handles.length > MAX_BATCH) throw r.corrupt();
  return handles as string[];
}
