import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  type ProxiedAddresses,
} from '../../src/proxy-protocol/encode.js';
import { ProxyHeaderParser } from '../../src/proxy-protocol/parse.js';

// The sender side of the PROXY protocol: byte layouts from HAProxy's proxy-protocol.txt (sections 2.1 and
// 2.2), and every header read back by our own parser, as `serve --proxy-protocol` would read it.

const SIGNATURE = '0d0a0d0a000d0a515549540a';

function hex(bytes: Buffer): string {
  return bytes.toString('hex');
}

function parse(bytes: Buffer) {
  const result = new ProxyHeaderParser().push(Buffer.concat([bytes, Buffer.from([0x16])]));
  expect(result, `parser waited on ${hex(bytes)}`).toBeDefined();
  // The header ends exactly where the encoder stopped: the byte after it is left for the TLS server.
  expect(result!.rest).toEqual(Buffer.from([0x16]));
  return result!.header;
}

const SPEC_V4: ProxiedAddresses = {
  source: { address: '192.168.0.1', port: 56324 },
  destination: { address: '192.168.0.11', port: 443 },
};

describe('encodeProxyHeaderV2', () => {
  test('without addresses: the 16-byte LOCAL header with no address block, which health checks send', () => {
    const header = encodeProxyHeaderV2();
    // Signature, version 2 + LOCAL (0x20), UNSPEC (0x00), length 0.
    expect(hex(header)).toBe(`${SIGNATURE}20000000`);
    expect(parse(header)).toEqual({
      version: 2,
      command: 'local',
      family: 'unspec',
      transport: 'unspec',
      tlvs: [],
      length: 16,
    });
  });

  test('TCP over IPv4: PROXY command, family 0x11, a 12-byte block of addresses then ports', () => {
    const header = encodeProxyHeaderV2(SPEC_V4);
    expect(hex(header)).toBe(`${SIGNATURE}2111000c` + 'c0a80001' + 'c0a8000b' + 'dc04' + '01bb');
    expect(parse(header)).toMatchObject({
      version: 2,
      command: 'proxy',
      family: 'IPv4',
      transport: 'stream',
      source: SPEC_V4.source,
      destination: SPEC_V4.destination,
      length: 28,
    });
  });

  test('TCP over IPv6: family 0x21, a 36-byte block; a dotted IPv4 tail is the last two groups', () => {
    const header = encodeProxyHeaderV2({
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::ffff:192.0.2.1', port: 65535 },
    });
    expect(hex(header)).toBe(
      `${SIGNATURE}21210024` +
        '20010db8000000000000000000000001' +
        '00000000000000000000ffffc0000201' +
        '0001' +
        'ffff',
    );
    expect(parse(header)).toMatchObject({
      family: 'IPv6',
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::ffff:192.0.2.1', port: 65535 },
    });
  });
});

describe('encodeProxyHeaderV1', () => {
  test('without addresses: PROXY UNKNOWN, which the receiver answers with the real addresses', () => {
    const header = encodeProxyHeaderV1();
    expect(header.toString('latin1')).toBe('PROXY UNKNOWN\r\n');
    expect(parse(header)).toMatchObject({ version: 1, family: 'unspec', length: 15 });
    expect(parse(header).source).toBeUndefined();
  });

  test('the spec examples, byte for byte', () => {
    expect(encodeProxyHeaderV1(SPEC_V4).toString('latin1')).toBe(
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n',
    );
    const all = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = encodeProxyHeaderV1({
      source: { address: all, port: 65535 },
      destination: { address: all, port: 65535 },
    });
    expect(longest.toString('latin1')).toBe(`PROXY TCP6 ${all} ${all} 65535 65535\r\n`);
    // The longest TCP6 line fits the 107 bytes the spec allows (UNKNOWN adds 3 characters).
    expect(longest.length).toBe(104);
  });

  test('IPv6 in compressed hex form, never with a dotted IPv4 tail (which v1 does not allow)', () => {
    const line = encodeProxyHeaderV1({
      source: { address: '::FFFF:192.0.2.1', port: 5 },
      destination: { address: '2001:0db8:0:0:1:0:0:1', port: 6 },
    });
    expect(line.toString('latin1')).toBe('PROXY TCP6 ::ffff:c000:201 2001:db8::1:0:0:1 5 6\r\n');
    expect(parse(line)).toMatchObject({ family: 'IPv6', source: { port: 5 }, destination: { port: 6 } });
  });
});

describe('refused addresses', () => {
  test.each<[string, ProxiedAddresses, RegExp]>([
    [
      'mixed families',
      { source: { address: '192.0.2.1', port: 1 }, destination: { address: '::1', port: 2 } },
      /must both be IPv4 or both IPv6/,
    ],
    [
      'a host name',
      { source: { address: 'localhost', port: 1 }, destination: { address: '127.0.0.1', port: 2 } },
      /'localhost' is not an IPv4 or IPv6 address/,
    ],
    [
      'an IPv6 zone',
      { source: { address: 'fe80::1%eth0', port: 1 }, destination: { address: 'fe80::2', port: 2 } },
      /is not an IPv4 or IPv6 address/,
    ],
    [
      'a port past 65535',
      { source: { address: '::1', port: 65536 }, destination: { address: '::1', port: 2 } },
      /65536 is not a port/,
    ],
    [
      'a fractional port',
      { source: { address: '::1', port: 1 }, destination: { address: '::1', port: 2.5 } },
      /2.5 is not a port/,
    ],
  ])('%s', (_name, addresses, message) => {
    expect(() => encodeProxyHeaderV2(addresses)).toThrow(RangeError);
    expect(() => encodeProxyHeaderV2(addresses)).toThrow(message);
    expect(() => encodeProxyHeaderV1(addresses)).toThrow(message);
  });
});

describe('round trip through the parser', () => {
  // Any address, written the way Node writes socket addresses (RFC 5952, dotted tails for mapped ones).
  const ipv4 = fc.ipV4();
  const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
  });
  const port = fc.integer({ min: 0, max: 65535 });
  const addresses = (ip: fc.Arbitrary<string>) =>
    fc.record({
      source: fc.record({ address: ip, port }),
      destination: fc.record({ address: ip, port }),
    });
  const normalised = (address: string) =>
    new SocketAddress({ address, family: address.includes(':') ? 'ipv6' : 'ipv4' }).address;

  test.each([
    ['v1', encodeProxyHeaderV1],
    ['v2', encodeProxyHeaderV2],
  ] as const)('%s: the parser reads back the addresses and ports it was given', (_version, encode) => {
    fc.assert(
      fc.property(fc.oneof(addresses(ipv4), addresses(ipv6)), (given) => {
        const header = parse(encode(given));
        expect(header.command).toBe('proxy');
        expect(header.family).toBe(given.source.address.includes(':') ? 'IPv6' : 'IPv4');
        for (const end of ['source', 'destination'] as const) {
          expect(header[end]!.port).toBe(given[end].port);
          expect(normalised(header[end]!.address)).toBe(given[end].address);
        }
      }),
    );
  });
});
