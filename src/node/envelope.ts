// What the node wraps around each proposed command before it enters the log: the
// leader's wall time (the replicated clock the state machine uses) and a proposal id
// so the proposing node can hand apply's result to the waiting caller.
//
// Layout: [version u8 = 1][origin u32][seq f64][time f64][command...]
// `origin` is random per process start, so ids from an earlier life of this node, or
// from another node, never match a waiting proposal.

const VERSION = 1;
const HEADER = 1 + 4 + 8 + 8;

export interface Envelope {
  origin: number;
  seq: number;
  time: number;
  command: Uint8Array;
}

export function encodeEnvelope(origin: number, seq: number, time: number, command: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + command.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint32(1, origin);
  view.setFloat64(5, seq);
  view.setFloat64(13, time);
  out.set(command, HEADER);
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
