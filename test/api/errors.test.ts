import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { ApiError, errorBody, fromBrokerError, fromZodError, toApiError } from '../../src/api/errors.js';
import {
  ForwardError,
  NoLeaderError,
  NodeStoppedError,
  NotLeaderError,
  InsufficientStorageError,
  OverloadedError,
  ProposalOutcomeUnknownError,
  StorageFailedError,
} from '../../src/node/errors.js';

describe('error table', () => {
  test.each([
    ['validation_failed', 400],
    ['not_found', 404],
    ['forbidden', 403],
    ['conflict', 409],
    ['payload_too_large', 413],
  ])('broker %s -> %d', (code, status) => {
    const err = fromBrokerError({ code, message: 'm', details: [{ path: 'x' }] });
    expect(err.status).toBe(status);
    expect(errorBody(err)).toEqual({ error: { code, message: 'm', details: [{ path: 'x' }] } });
  });

  test('an unknown broker code is a 500 that says nothing more', () => {
    const err = fromBrokerError({ code: 'weird', message: 'secret internals' });
    expect(err.status).toBe(500);
    expect(JSON.stringify(errorBody(err))).not.toContain('secret');
  });

  test.each([
    [new NoLeaderError(), 503, 'no_leader'],
    [new NotLeaderError('n2', null), 503, 'no_leader'],
    [new ProposalOutcomeUnknownError(), 503, 'no_leader'],
    [new ForwardError('relay broke'), 503, 'no_leader'],
    [new NodeStoppedError(), 503, 'no_leader'],
    [new StorageFailedError('fsync failed'), 503, 'no_leader'],
    [new OverloadedError(5000), 429, 'rate_limited'],
    [new OverloadedError(3, 70_000_000, 'bytes'), 429, 'rate_limited'],
  ])('node error %p -> %d %s with Retry-After', (err, status, code) => {
    const mapped = toApiError(err);
    expect(mapped.status).toBe(status);
    expect(mapped.code).toBe(code);
    expect(mapped.retryAfterSec).toBeGreaterThan(0);
  });

  test('an overloaded leader says so in details', () => {
    expect(toApiError(new OverloadedError(3, 70_000_000, 'bytes')).details).toEqual({ reason: 'overloaded' });
  });

  test("a low disk is 507 insufficient_storage", () => {
    const mapped = toApiError(new InsufficientStorageError(10, 1024));
    expect(mapped.status).toBe(507);
    expect(mapped.code).toBe('insufficient_storage');
  });

  test('an unknown outcome says so in details', () => {
    expect(toApiError(new ProposalOutcomeUnknownError()).details).toEqual({ outcome: 'unknown' });
  });

  test('any other exception is 500 internal without message or stack', () => {
    const err = toApiError(new TypeError('cannot read x of undefined at /src/secret.ts:12'));
    expect(err.status).toBe(500);
    const body = JSON.stringify(errorBody(err));
    expect(body).not.toContain('secret');
    expect(body).not.toContain('TypeError');
  });

  test('zod issues become field paths', () => {
    const parsed = z.strictObject({ a: z.object({ b: z.number() }) }).safeParse({ a: { b: 'x' }, c: 1 });
    const err = fromZodError(parsed.error!, 'body');
    expect(err.status).toBe(400);
    expect(err.code).toBe('validation_failed');
    const paths = (err.details as Array<{ in: string; path: string }>).map((d) => `${d.in}:${d.path}`).sort();
    expect(paths).toEqual(['body:', 'body:a.b']);
  });

  test('ApiError keeps its own code', () => {
    const err = new ApiError('rate_limited', 'slow down', undefined, 7);
    expect(toApiError(err)).toBe(err);
    expect(err.status).toBe(429);
  });
});
