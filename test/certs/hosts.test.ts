import { describe, expect, test } from 'vitest';
import { sortHosts } from '../../src/certs/hosts.js';
import { UsageError } from '../../src/errors.js';

describe('sortHosts', () => {
  test.each([
    [['localhost', '127.0.0.1', '::1'], { dns: ['localhost'], ip: ['127.0.0.1', '::1'] }],
    [['localhost,127.0.0.1', ' api.test '], { dns: ['localhost', 'api.test'], ip: ['127.0.0.1'] }],
    [['*.example.test', 'Example.TEST.'], { dns: ['*.example.test', 'example.test'], ip: [] }],
    [['[::1]', '::1', 'fe80::1'], { dns: [], ip: ['::1', 'fe80::1'] }],
    [['xn--bcher-kva.example', 'a-b.c0'], { dns: ['xn--bcher-kva.example', 'a-b.c0'], ip: [] }],
    [[`${'a'.repeat(63)}.test`], { dns: [`${'a'.repeat(63)}.test`], ip: [] }],
  ])('%j → %j', (hosts, expected) => {
    expect(sortHosts(hosts)).toEqual(expected);
  });

  test.each([
    ['bad_host', "invalid host 'bad_host': not a DNS name or an IP address"],
    ['-lead.test', "invalid host '-lead.test': not a DNS name or an IP address"],
    ['trail-.test', "invalid host 'trail-.test': not a DNS name or an IP address"],
    ['a..test', "invalid host 'a..test': not a DNS name or an IP address"],
    ['api.*.test', "invalid host 'api.*.test': not a DNS name or an IP address"],
    ['*', "invalid host '*': not a DNS name or an IP address"],
    [`${'a'.repeat(64)}.test`, `invalid host '${'a'.repeat(64)}.test': not a DNS name or an IP address`],
    ['http://x.test', "invalid host 'http://x.test': not a DNS name or an IP address"],
    ['1.2.3', "invalid host '1.2.3': looks like an IP address but is not one"],
    ['10.0.0.256', "invalid host '10.0.0.256': looks like an IP address but is not one"],
  ])('refuses %j, naming it', (host, message) => {
    expect(() => sortHosts(['localhost', host])).toThrow(new UsageError(message));
  });

  test('needs at least one name', () => {
    expect(() => sortHosts([' , '])).toThrow(/no host names given/);
  });
});
