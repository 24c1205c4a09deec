import { BlockList, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatIpAddress, parseIpAddress, sortHosts } from '../../src/certs/hosts.js';
import { UsageError } from '../../src/errors.js';

describe('sortHosts', () => {
  test.each([
    [['localhost', '127.0.0.1', '::1'], { dns: ['localhost'], ip: ['127.0.0.1', '::1'] }],
    [['localhost,127.0.0.1', ' api.test '], { dns: ['localhost', 'api.test'], ip: ['127.0.0.1'] }],
    [['*.example.test', 'Example.TEST.'], { dns: ['*.example.test', 'example.test'], ip: [] }],
    [['[::1]', '::1', 'fe80::1'], { dns: [], ip: ['::1', 'fe80::1'] }],
    [['0:0::1', '::0:1', '0:0:0:0:0:0:0:1'], { dns: [], ip: ['::1'] }],
    [['::ffff:127.0.0.1', '64:FF9B::1.2.3.4'], { dns: [], ip: ['::ffff:7f00:1', '64:ff9b::102:304'] }],
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
    ['fe80::1%eth0', "invalid host 'fe80::1%eth0': a zone index (%eth0) cannot go in a certificate"],
    ['::ffff:1.2.3', "invalid host '::ffff:1.2.3': not a DNS name or an IP address"],
    ['1:2:3:4:5:6:7:1.2.3.4', "invalid host '1:2:3:4:5:6:7:1.2.3.4': not a DNS name or an IP address"],
  ])('refuses %j, naming it', (host, message) => {
    expect(() => sortHosts(['localhost', host])).toThrow(new UsageError(message));
  });

  test('needs at least one name', () => {
    expect(() => sortHosts([' , '])).toThrow(/no host names given/);
  });
});

// The 16 bytes of each IPv6 address, as `openssl x509 -ext subjectAltName` and RFC 4291 section 2.2 read them.
const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/ /g, ''), 'hex'));

describe('parseIpAddress', () => {
  test.each([
    ['127.0.0.1', '7f000001'],
    ['::1', '0000 0000 0000 0000 0000 0000 0000 0001'],
    ['::', '0000 0000 0000 0000 0000 0000 0000 0000'],
    ['1::', '0001 0000 0000 0000 0000 0000 0000 0000'],
    ['::ffff:127.0.0.1', '0000 0000 0000 0000 0000 ffff 7f00 0001'],
    ['::1.2.3.4', '0000 0000 0000 0000 0000 0000 0102 0304'],
    ['64:ff9b::1.2.3.4', '0064 ff9b 0000 0000 0000 0000 0102 0304'],
    ['1:2:3:4:5:6:1.2.3.4', '0001 0002 0003 0004 0005 0006 0102 0304'],
    ['1:2:3:4:5:6:7::', '0001 0002 0003 0004 0005 0006 0007 0000'],
    ['FE80::ABCD:1', 'fe80 0000 0000 0000 0000 0000 abcd 0001'],
  ])('%s is %s', (text, bytes) => {
    expect(parseIpAddress(text)).toEqual(hex(bytes));
  });

  test.each(['fe80::1%eth0', 'localhost', '', '1.2.3', '::1.2.3', ':::', '1:2:3:4:5:6:7:8:9', '[::1]'])(
    'refuses %j',
    (text) => {
      expect(parseIpAddress(text)).toBeUndefined();
    },
  );

  // Every IPv6 spelling fast-check makes (with :: and with a dotted tail) against two parsers in Node:
  // BlockList matches the address bytes, and the WHATWG URL parser writes the RFC 5952 form.
  test('agrees with Node on the bytes and the short form of any IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const bytes = parseIpAddress(text);
        expect(bytes).toBeDefined();
        const canonical = formatIpAddress(bytes!);
        expect(canonical).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        const list = new BlockList();
        list.addAddress(canonical, 'ipv6');
        expect(list.check(text, 'ipv6')).toBe(true);
        expect(parseIpAddress(canonical)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  test('reads any 16 bytes back from their short form', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIpAddress(bytes);
        expect(isIPv6(text)).toBe(true);
        expect(parseIpAddress(text)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
