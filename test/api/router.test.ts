import { describe, expect, test } from '@jest/globals';
import { defineRoute, type RouteSpec } from '../../src/api/route.js';
import { Router } from '../../src/api/router.js';

const route = (method: 'GET' | 'POST' | 'DELETE', path: string): RouteSpec =>
  defineRoute({ method, path, operationId: path, summary: '', auth: false, kind: 'local', success: 200, handle: async () => ({ status: 200 }) });

describe('router', () => {
  const routes = [
    route('GET', '/v1/queues'),
    route('POST', '/v1/queues'),
    route('GET', '/v1/queues/:name'),
    route('DELETE', '/v1/queues/:name'),
    route('POST', '/v1/queues/:name/messages'),
    route('POST', '/v1/queues/:name/purge'),
    route('GET', '/v1/topics/:topic/subscriptions/:subscription'),
  ];
  const router = new Router(routes);
  const find = (method: string, path: string) => {
    const m = router.match(method, path);
    return m && { path: m.spec.path, method: m.spec.method, params: m.params };
  };

  test('picks the route by method, literal segments and parameters', () => {
    expect(find('POST', '/v1/queues')).toEqual({ path: '/v1/queues', method: 'POST', params: {} });
    expect(find('GET', '/v1/queues/orders')).toEqual({ path: '/v1/queues/:name', method: 'GET', params: { name: 'orders' } });
    expect(find('POST', '/v1/queues/orders/purge')).toMatchObject({ path: '/v1/queues/:name/purge', params: { name: 'orders' } });
    expect(find('GET', '/v1/topics/t/subscriptions/s')).toMatchObject({ params: { topic: 't', subscription: 's' } });
  });

  test('nothing for an unknown path or method (404), or an empty parameter', () => {
    expect(find('GET', '/v1/nothing')).toBeUndefined();
    expect(find('PUT', '/v1/queues')).toBeUndefined();
    expect(find('POST', '/v1/queues/orders/explode')).toBeUndefined();
    expect(find('GET', '/v1/queues//')).toBeUndefined();
    expect(find('GET', '/v1/topics//subscriptions/s')).toBeUndefined();
  });

  test('as before: one trailing slash, any case of literal segments, HEAD for GET', () => {
    expect(find('GET', '/v1/queues/')).toMatchObject({ path: '/v1/queues' });
    expect(find('POST', '/V1/Queues/Orders/MESSAGES')).toMatchObject({ params: { name: 'Orders' } });
    expect(find('HEAD', '/v1/queues/orders')).toMatchObject({ method: 'GET', params: { name: 'orders' } });
    expect(find('HEAD', '/v1/queues/orders/purge')).toBeUndefined();
  });

  test('parameters are percent-decoded; invalid encoding is taken as written', () => {
    expect(find('GET', '/v1/queues/a%2Eb')).toMatchObject({ params: { name: 'a.b' } });
    expect(find('GET', '/v1/queues/a%E0%A4%A')).toMatchObject({ params: { name: 'a%E0%A4%A' } });
  });

  test('a decided path is remembered, and the memory stays bounded and right', () => {
    expect(router.match('GET', '/v1/queues/orders')).toBe(router.match('GET', '/v1/queues/orders'));
    for (let i = 0; i < 5000; i++) expect(find('GET', `/v1/queues/q${i}`)).toMatchObject({ params: { name: `q${i}` } });
    expect(find('GET', '/v1/nothing')).toBeUndefined();
    expect(find('GET', '/v1/nothing')).toBeUndefined();
    expect(find('GET', `/v1/queues/${'a'.repeat(600)}`)).toMatchObject({ params: { name: 'a'.repeat(600) } });
  });
});
