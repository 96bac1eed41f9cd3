// The bytes a leader streams to a follower that installs its snapshot: the state
// machine's image AND the entries the snapshot keeps below it (they hold the bodies
// of live messages; a follower without them could neither serve receives nor lead).
//
//   header:  "MOMSNAP\x01" (8) | version u32 (1) | reserved u32 | image length f64
//            | log start index f64 | log start term f64          (40 bytes)
//   image:   the state machine's image, as the store holds it
//   records: the entries (log start, snapshot index], as segment records
//            ([length u32][crc32 u32][type u8][term f64][index f64][data], segment-format.ts)
//
// A stream that does not begin with the magic is a plain image (a leader that keeps no
// entries below its snapshot, or of an earlier build): the image is the whole stream.

export const STREAM_MAGIC = Buffer.from('MOMSNAP\x01', 'latin1');
export const STREAM_VERSION = 1;
export const STREAM_HEADER_BYTES = 40;

export interface StreamHeader {
  imageBytes: number;
  /** The entry just below the first one streamed: the follower's log start. */
  start: { index: number; term: number };
}

export function encodeStreamHeader(h: StreamHeader): Buffer {
  const buf = Buffer.alloc(STREAM_HEADER_BYTES);
  STREAM_MAGIC.copy(buf, 0);
  buf.writeUInt32BE(STREAM_VERSION, 8);
  buf.writeDoubleBE(h.imageBytes, 16);
  buf.writeDoubleBE(h.start.index, 24);
  buf.writeDoubleBE(h.start.term, 32);
  return buf;
}

/** Whether a stream beginning with `head` (at least as many bytes as the magic, or the
 *  whole stream when shorter) is a composite stream. */
export function isComposite(head: Uint8Array): boolean {
  return head.length >= STREAM_MAGIC.length && Buffer.from(head.buffer, head.byteOffset, STREAM_MAGIC.length).equals(STREAM_MAGIC);
}

/** Decodes the header of a composite stream (`buf` holds at least its 40 bytes). */
export function decodeStreamHeader(buf: Uint8Array): StreamHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, STREAM_HEADER_BYTES);
  const version = b.readUInt32BE(8);
  if (version !== STREAM_VERSION) throw new Error(`snapshot stream version ${version}, this build reads ${STREAM_VERSION}`);
  return { imageBytes: b.readDoubleBE(16), start: { index: b.readDoubleBE(24), term: b.readDoubleBE(32) } };
}
