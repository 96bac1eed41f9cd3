// Request bodies: the 1 MiB limit is enforced while reading (a client cannot make us
// buffer more), then the bytes must be UTF-8 JSON.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Routes without a token (register, login) take small bodies only: a stranger cannot
 *  make a node buffer and parse a megabyte per request. */
export const MAX_UNAUTHENTICATED_REQUEST_BYTES = 4 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function tooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `request body is larger than ${limit} bytes`, { limitBytes: limit });
}

/** Reads the whole body, failing with 413 as soon as it passes `limit` bytes. */
export async function readRawBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering. The 413 goes out at once; Node discards the rest of the upload
        // after the response, so the client can still read the answer on this connection.
        finish(tooLarge(limit));
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    const onError = (err: Error): void => finish(err);
    const onAborted = (): void => finish(new Error('request aborted by the client'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * Parses a JSON body. An empty body counts as `{}` (so routes whose fields are all
 * optional need none); anything that is not UTF-8 JSON is 400 invalid_json.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ApiError('invalid_json', 'request body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError('invalid_json', `request body is not JSON: ${(err as Error).message}`);
  }
}
