// A frame handed to grpc-js as the list of buffers it is made of, not as one buffer.
//
// grpc-js frames every message it sends: it allocates the message's length + 5 bytes
// (a flag byte and the length), then calls `message.copy(output, 5)` (grpc-js 1.14,
// compression-filter.js: IdentityHandler.writeMessage; before that the call chain reads
// only `message.length`). An append frame is mostly its entries' records, which already
// lie in the buffer the leader encoded them into: serialized with protobufjs they were
// copied into a frame of their own for each follower, and that frame copied once more
// by grpc-js. Handed over as parts, they are copied once, straight into grpc-js's buffer:
// one large allocation and one copy less per follower and Ready (docs/DESIGN.md,
// "Data flow of one write"). test/node/transport.test.ts sends such frames through grpc-js.

/** The bytes of `parts` one after the other, with the part of Buffer's API grpc-js uses. */
export class GatheredFrame {
  readonly length: number;

  constructor(private readonly parts: readonly Uint8Array[]) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }

  /** Buffer#copy: bytes [sourceStart, sourceEnd) into `target` from `targetStart`, cut
   *  at the end of `target`; returns how many were copied. */
  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const end = Math.min(sourceEnd, this.length, sourceStart + Math.max(0, target.length - targetStart));
    let at = 0;
    let copied = 0;
    for (const p of this.parts) {
      if (at >= end) break;
      const from = Math.max(sourceStart - at, 0);
      const to = Math.min(end - at, p.length);
      if (from < to) {
        target.set(from === 0 && to === p.length ? p : p.subarray(from, to), targetStart + copied);
        copied += to - from;
      }
      at += p.length;
    }
    return copied;
  }

  /** The frame as one buffer (for tests and anything that needs it whole). */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.copy(out);
    return out;
  }
}
