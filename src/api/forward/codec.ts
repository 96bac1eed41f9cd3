// The bytes a follower sends over the Forward RPC and the leader answers: an HTTP
// request or response as a length-prefixed JSON head followed by the raw body.
export interface ForwardedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: Record<string, string>;
  /** The original client's address (login rate limiting is per address). */
  clientAddress: string;
  body: Uint8Array;
}

export interface ForwardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const FORMAT_VERSION = 1;

function frame(head: object, body: Uint8Array): Uint8Array {
  const headBytes = Buffer.from(JSON.stringify({ v: FORMAT_VERSION, ...head }), 'utf8');
  const out = Buffer.allocUnsafe(4 + headBytes.length + body.length);
  out.writeUInt32BE(headBytes.length, 0);
  headBytes.copy(out, 4);
  out.set(body, 4 + headBytes.length);
  return out;
}

function unframe(bytes: Uint8Array): { head: Record<string, unknown>; body: Uint8Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) throw new Error('forward frame too short');
  const headLength = buf.readUInt32BE(0);
  if (4 + headLength > buf.length) throw new Error('forward frame truncated');
  const head = JSON.parse(buf.subarray(4, 4 + headLength).toString('utf8')) as Record<string, unknown>;
  if (head.v !== FORMAT_VERSION) throw new Error(`unsupported forward frame version ${String(head.v)}`);
  return { head, body: buf.subarray(4 + headLength) };
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  if (typeof value !== 'object' || value === null) throw new Error(`forward frame: bad ${what}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`forward frame: bad ${what}`);
    out[k] = v;
  }
  return out;
}

export function encodeForwardedRequest(req: ForwardedRequest): Uint8Array {
  const { body, ...head } = req;
  return frame(head, body);
}

export function decodeForwardedRequest(bytes: Uint8Array): ForwardedRequest {
  const { head, body } = unframe(bytes);
  if (typeof head.method !== 'string' || typeof head.url !== 'string' || typeof head.clientAddress !== 'string') {
    throw new Error('forward frame: bad request head');
  }
  return { method: head.method, url: head.url, headers: stringRecord(head.headers, 'headers'), clientAddress: head.clientAddress, body };
}

export function encodeForwardedResponse(res: ForwardedResponse): Uint8Array {
  const { body, ...head } = res;
  return frame(head, body);
}

export function decodeForwardedResponse(bytes: Uint8Array): ForwardedResponse {
  const { head, body } = unframe(bytes);
  if (typeof head.status !== 'number') throw new Error('forward frame: bad response head');
  return { status: head.status, headers: stringRecord(head.headers, 'headers'), body };
}
