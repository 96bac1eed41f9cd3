import { describe, expect, test } from '@jest/globals';
import { parseHostPort } from '../../src/node/address.js';

describe('parseHostPort', () => {
  test.each([
    ['127.0.0.1:8001', { host: '127.0.0.1', port: 8001 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:9001', { host: '::1', port: 9001 }],
    [':8080', { host: '', port: 8080 }],
  ])('%s', (address, parsed) => {
    expect(parseHostPort(address)).toEqual(parsed);
  });

  test.each(['127.0.0.1', '::1:80', 'host:port', 'host:65536', 'host:-1', '[::1]'])('%s is refused', (address) => {
    expect(() => parseHostPort(address)).toThrow(/bad address/);
  });
});
