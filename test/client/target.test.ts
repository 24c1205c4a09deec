import { describe, expect, test } from 'vitest';
import { formatTarget, parseTarget } from '../../src/client/target.js';
import { UsageError } from '../../src/errors.js';

describe('parseTarget', () => {
  test.each([
    [undefined, undefined, { host: 'localhost', port: 7000 }],
    ['', undefined, { host: 'localhost', port: 7000 }],
    ['example.com:443', undefined, { host: 'example.com', port: 443 }],
    ['example.com', undefined, { host: 'example.com', port: 7000 }],
    ['example.com', 8443, { host: 'example.com', port: 8443 }],
    ['example.com:8443', 8443, { host: 'example.com', port: 8443 }],
    [':9000', undefined, { host: 'localhost', port: 9000 }],
    ['127.0.0.1:1', undefined, { host: '127.0.0.1', port: 1 }],
    ['[::1]:7001', undefined, { host: '::1', port: 7001 }],
    ['[::1]', 7002, { host: '::1', port: 7002 }],
    ['::1', undefined, { host: '::1', port: 7000 }],
    ['fe80::1', 9, { host: 'fe80::1', port: 9 }],
  ] as const)('%j with --port %j is %j', (text, port, expected) => {
    expect(parseTarget(text, port)).toEqual(expected);
  });

  test.each([
    ['host:0', undefined, /invalid port '0'/],
    ['host:65536', undefined, /invalid port '65536'/],
    ['host:http', undefined, /invalid port 'http'/],
    ['host:80', 81, /says port 80 but --port says 81/],
    ['host', 0, /invalid port '0'/],
    ['[not-v6]:80', undefined, /is not an IPv6 address/],
    ['a:b:c', undefined, /\[ADDRESS\]:PORT/],
  ] as const)('refuses %j (--port %j) with a usage error', (text, port, message) => {
    expect(() => parseTarget(text, port)).toThrow(UsageError);
    expect(() => parseTarget(text, port)).toThrow(message);
  });
});

describe('formatTarget', () => {
  test('brackets IPv6 addresses and leaves the rest as typed', () => {
    expect(formatTarget({ host: '::1', port: 7000 })).toBe('[::1]:7000');
    expect(formatTarget({ host: '127.0.0.1', port: 7000 })).toBe('127.0.0.1:7000');
    expect(formatTarget({ host: 'localhost', port: 1 })).toBe('localhost:1');
  });
});
