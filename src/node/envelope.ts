// What the node wraps around each proposed command before it enters the log: the
// leader's wall time (the replicated clock the state machine uses) and a proposal id
// so the proposing node can hand apply's result to the waiting caller.
//
// Layout: [version u8 = 1][origin u32][seq f64][time f64][command...]
// `origin` is random per process start, so ids from an earlier life of this node, or
// from another node, never match a waiting proposal.

import { RECORD_HEAD_BYTES } from './storage/segments/segment-format.js';

const VERSION = 1;
const HEADER = 1 + 4 + 8 + 8;
/** The bytes an envelope puts before its command: a command encoded with this much
 *  headroom (encodeCommand) is wrapped in place, without a copy. */
export const ENVELOPE_BYTES = HEADER;
/** The headroom to encode a proposed command with: its envelope, then the head of its
 *  log record, are written in front of it (Proposals, encodeRecords), so the command's
 *  bytes are the record's, in the leader's segment and in its append frames. */
export const COMMAND_HEADROOM = RECORD_HEAD_BYTES + ENVELOPE_BYTES;

export interface Envelope {
  origin: number;
  seq: number;
  time: number;
  command: Uint8Array;
}

/** The envelope of the command that starts `headroom` bytes into `command` (the bytes
 *  before it are free). With ENVELOPE_BYTES of headroom or more, the header is written
 *  there and the entry is a view of `command`'s buffer; with less, a new buffer. */
export function encodeEnvelope(origin: number, seq: number, time: number, command: Uint8Array, headroom = 0): Uint8Array {
  let out: Uint8Array;
  if (headroom >= HEADER) {
    out = command.subarray(headroom - HEADER);
  } else {
    out = new Uint8Array(HEADER + command.length - headroom);
    out.set(headroom === 0 ? command : command.subarray(headroom), HEADER);
  }
  const view = new DataView(out.buffer, out.byteOffset, HEADER);
  view.setUint8(0, VERSION);
  view.setUint32(1, origin);
  view.setFloat64(5, seq);
  view.setFloat64(13, time);
  return out;
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  if (data.length < HEADER || data[0] !== VERSION) {
    throw new Error(`log entry of ${data.length} bytes is not a version-${VERSION} command envelope`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    origin: view.getUint32(1),
    seq: view.getFloat64(5),
    time: view.getFloat64(13),
    command: data.subarray(HEADER),
  };
}
