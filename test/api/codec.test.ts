import { describe, expect, test } from '@jest/globals';
import {
  decodeForwardedRequest,
  decodeForwardedResponse,
  encodeForwardedRequest,
  encodeForwardedResponse,
} from '../../src/api/forward/codec.js';

describe('forward codec', () => {
  test('a request round-trips, binary body included', () => {
    const body = Uint8Array.from([0, 1, 2, 255, 0xc3, 0x28]);
    const req = {
      method: 'POST',
      url: '/v1/queues/q/messages?x=1',
      headers: { authorization: 'Bearer a.b.c', 'idempotency-key': 'k-1' },
      clientAddress: '::ffff:127.0.0.1',
      body,
    };
    const back = decodeForwardedRequest(encodeForwardedRequest(req));
    expect({ ...back, body: [...back.body] }).toEqual({ ...req, body: [...body] });
  });

  test('a response round-trips', () => {
    const res = { status: 201, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"id":"1"}') };
    const back = decodeForwardedResponse(encodeForwardedResponse(res));
    expect(back.status).toBe(201);
    expect(back.headers).toEqual(res.headers);
    expect(Buffer.from(back.body).toString()).toBe('{"id":"1"}');
  });

  test('garbage is refused', () => {
    expect(() => decodeForwardedRequest(Uint8Array.from([0, 0]))).toThrow();
    expect(() => decodeForwardedRequest(Uint8Array.from([0, 0, 0, 50, 1]))).toThrow();
    expect(() => decodeForwardedResponse(encodeForwardedRequest({ method: 'GET', url: '/', headers: {}, clientAddress: 'x', body: new Uint8Array() }))).toThrow();
  });
});
