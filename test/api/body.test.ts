import { describe, expect, test } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { parseJsonBody, readRawBody } from '../../src/api/body.js';
import { ApiError } from '../../src/api/errors.js';

function request(chunks: Buffer[], headers: Record<string, string> = {}): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers });
  setImmediate(() => {
    for (const c of chunks) stream.write(c);
    stream.end();
  });
  return stream as unknown as IncomingMessage;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (err) {
    return (err as ApiError).code;
  }
  return 'ok';
}

describe('readRawBody', () => {
  test('returns the bytes', async () => {
    const body = await readRawBody(request([Buffer.from('{"a":'), Buffer.from('1}')]));
    expect(body.toString()).toBe('{"a":1}');
  });

  test('413 when the declared length is over the limit, without reading', async () => {
    expect(await codeOf(readRawBody(request([], { 'content-length': '2000' }), 1000))).toBe('payload_too_large');
  });

  test('413 while reading when chunks pass the limit (no content-length)', async () => {
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(100, 0x61));
    expect(await codeOf(readRawBody(request(chunks), 1000))).toBe('payload_too_large');
  });

  test('exactly at the limit is fine', async () => {
    expect((await readRawBody(request([Buffer.alloc(1000, 0x61)]), 1000)).length).toBe(1000);
  });
});

describe('parseJsonBody', () => {
  test('empty body counts as {}', () => {
    expect(parseJsonBody(Buffer.alloc(0))).toEqual({});
    expect(parseJsonBody(Buffer.from('  \n'))).toEqual({});
  });

  test('JSON parses', () => {
    expect(parseJsonBody(Buffer.from('{"x":[1,"é"]}'))).toEqual({ x: [1, 'é'] });
  });

  test.each([['{'], ['nope'], ['{"a":1}}'], ["{'a':1}"]])('invalid JSON %p -> invalid_json', async (text) => {
    expect(await codeOf(() => parseJsonBody(Buffer.from(text)))).toBe('invalid_json');
  });

  test('invalid UTF-8 -> invalid_json', async () => {
    const bytes = Buffer.concat([Buffer.from('{"body":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(await codeOf(() => parseJsonBody(bytes))).toBe('invalid_json');
  });
});
