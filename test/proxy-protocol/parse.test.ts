import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import {
  ProxyHeaderParser,
  V1_MAX_LENGTH,
  V2_DEFAULT_MAX_LENGTH,
  type ProxyHeader,
  type ProxyHeaderResult,
} from '../../src/proxy-protocol/parse.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A version 2 header: signature, version/command byte, family byte, length, body (hex or bytes). */
function v2(versionCommand: number, family: number, body: Buffer | string = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body.replace(/\s+/g, ''), 'hex') : body;
  const fixed = Buffer.from([versionCommand, family, bytes.length >> 8, bytes.length & 0xff]);
  return Buffer.concat([SIGNATURE, fixed, bytes]);
}

function parseWhole(bytes: Buffer): ProxyHeaderResult | undefined {
  return new ProxyHeaderParser().push(bytes);
}

function parseByteByByte(bytes: Buffer): ProxyHeaderResult | undefined {
  const parser = new ProxyHeaderParser();
  let result: ProxyHeaderResult | undefined;
  for (let i = 0; i < bytes.length; i++) {
    result = parser.push(bytes.subarray(i, i + 1));
    if (result) {
      expect(i).toBe(bytes.length - 1); // complete exactly at the last header byte
      break;
    }
  }
  return result;
}

function rejection(bytes: Buffer, parser = new ProxyHeaderParser()): ProtocolError {
  try {
    parser.push(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error(`accepted or waited on ${bytes.toString('hex')}`);
}

describe('PROXY protocol v1 (the spec examples)', () => {
  const examples: Array<[string, string, Partial<ProxyHeader>]> = [
    [
      'the spec example before an HTTP request',
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n',
      {
        family: 'IPv4',
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
      },
    ],
    [
      'the longest TCP4 line (56 bytes)',
      'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
      {
        family: 'IPv4',
        length: 56,
        source: { address: '255.255.255.255', port: 65535 },
        destination: { address: '255.255.255.255', port: 65535 },
      },
    ],
    [
      'the longest TCP6 line (104 bytes)',
      `PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`,
      { family: 'IPv6', length: 104, source: { address: `${'ffff:'.repeat(7)}ffff`, port: 65535 } },
    ],
    [
      'a compressed TCP6 line with port 0',
      'PROXY TCP6 2001:db8::1 ::1 0 7000\r\n',
      {
        family: 'IPv6',
        source: { address: '2001:db8::1', port: 0 },
        destination: { address: '::1', port: 7000 },
      },
    ],
    [
      'a TCP6 line with IPv4-mapped addresses, as inet_ntop writes them',
      'PROXY TCP6 ::ffff:192.0.2.7 ::ffff:127.0.0.1 5000 7000\r\n',
      {
        family: 'IPv6',
        source: { address: '::ffff:192.0.2.7', port: 5000 },
        destination: { address: '::ffff:127.0.0.1', port: 7000 },
      },
    ],
    [
      'the short UNKNOWN line (15 bytes)',
      'PROXY UNKNOWN\r\n',
      { family: 'unspec', transport: 'unspec', length: 15, source: undefined },
    ],
    [
      'the worst case: UNKNOWN with full IPv6 fields (107 bytes)',
      `PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`,
      { family: 'unspec', length: V1_MAX_LENGTH, source: undefined },
    ],
  ];

  test.each(examples)('parses %s, whole and one byte at a time', (_name, line, expected) => {
    const bytes = Buffer.from(line, 'latin1');
    const after = Buffer.from('GET / HTTP/1.1\r\n');
    const whole = parseWhole(Buffer.concat([bytes, after]));
    expect({ source: undefined, ...whole?.header }).toMatchObject({
      version: 1,
      command: 'proxy',
      length: bytes.length,
      ...expected,
    });
    expect(whole?.rest.toString()).toBe(after.toString());
    const trickled = parseByteByByte(bytes);
    expect(trickled?.header).toEqual(whole?.header);
    expect(trickled?.rest.length).toBe(0);
  });

  test.each([
    ['a lowercase signature', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['two spaces', 'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['an unknown protocol', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['a missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'],
    ['an extra field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'],
    ['a trailing space', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'],
    ['an octet with a leading zero', 'PROXY TCP4 192.168.00.1 5.6.7.8 1 2\r\n'],
    ['an octet above 255', 'PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n'],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n'],
    ['a port above 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'],
    ['an IPv4 address in a TCP6 line', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n'],
    ['an IPv6 address in a TCP4 line', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n'],
    ['an IPv6 address with a zone', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'],
    ['an IPv6 address with a broken dotted tail', 'PROXY TCP6 ::ffff:1.2.3 ::1 1 2\r\n'],
    ['a line ending in a bare LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'],
    ['a CR not followed by LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX'],
  ])('rejects %s', (_name, line) => {
    const error = rejection(Buffer.from(line, 'latin1'));
    expect(error.code).toMatch(/^ERR_PROXY_/);
    expect(error.message).toMatch(/PROXY/);
  });

  test('refuses a line without CRLF at byte 107, not later', () => {
    const parser = new ProxyHeaderParser();
    const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`, 'latin1');
    expect(parser.push(long.subarray(0, V1_MAX_LENGTH - 1))).toBeUndefined();
    const error = rejection(long.subarray(V1_MAX_LENGTH - 1, V1_MAX_LENGTH), parser);
    expect(error.code).toBe('ERR_PROXY_HEADER_TOO_LARGE');
    expect(error.message).toBe('invalid PROXY v1 header: no CRLF within 107 bytes');
  });

  test('refuses a wrong signature at its first wrong byte', () => {
    const parser = new ProxyHeaderParser();
    expect(parser.push(Buffer.from('PRO'))).toBeUndefined();
    expect(rejection(Buffer.from('Z'), parser).message).toBe(
      'invalid PROXY v1 header: it must start with "PROXY "',
    );
  });
});

describe('PROXY protocol v2 (binary)', () => {
  const vectors: Array<[string, Buffer, Partial<ProxyHeader>]> = [
    [
      'TCP over IPv4',
      v2(0x21, 0x11, 'c0a80001 c0a8000b dc04 01bb'),
      {
        command: 'proxy',
        family: 'IPv4',
        transport: 'stream',
        length: 28,
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
      },
    ],
    [
      'UDP over IPv4',
      v2(0x21, 0x12, '7f000001 7f000001 0035 0035'),
      { family: 'IPv4', transport: 'dgram', source: { address: '127.0.0.1', port: 53 } },
    ],
    [
      'TCP over IPv6',
      v2(0x21, 0x21, `20010db8000000000000000000000001 ${'00'.repeat(15)}01 1f40 1b58`),
      {
        family: 'IPv6',
        transport: 'stream',
        length: 52,
        source: { address: '2001:db8::1', port: 8000 },
        destination: { address: '::1', port: 7000 },
      },
    ],
    [
      'TCP over IPv6 with no zero run to compress',
      v2(0x21, 0x21, `${'ffff'.repeat(8)} ${'00010002'.repeat(4)} 0001 0002`),
      {
        source: { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 1 },
        destination: { address: '1:2:1:2:1:2:1:2', port: 2 },
      },
    ],
    [
      'TCP over IPv6 from an IPv4-mapped client, shown as Node shows such peers',
      v2(0x21, 0x21, `${'00'.repeat(10)}ffff7f000001 ${'00'.repeat(15)}01 0050 0051`),
      { source: { address: '::ffff:127.0.0.1', port: 80 }, destination: { address: '::1', port: 81 } },
    ],
    [
      'a UNIX stream socket',
      v2(
        0x21,
        0x31,
        Buffer.concat([
          Buffer.from('/run/client.sock'.padEnd(108, '\0')),
          Buffer.from('/run/tlsecho.sock'.padEnd(108, '\0')),
        ]),
      ),
      {
        family: 'unix',
        transport: 'stream',
        length: 232,
        source: { address: '/run/client.sock' },
        destination: { address: '/run/tlsecho.sock' },
      },
    ],
    [
      'a LOCAL health check without addresses',
      v2(0x20, 0x00),
      { command: 'local', family: 'unspec', length: 16, source: undefined },
    ],
    [
      'a LOCAL command whose address block is skipped',
      v2(0x20, 0x11, 'c0a80001 c0a8000b dc04 01bb'),
      { command: 'local', family: 'IPv4', length: 28, source: undefined },
    ],
    [
      'PROXY over UNSPEC (use the real addresses)',
      v2(0x21, 0x00, 'deadbeef'),
      { command: 'proxy', family: 'unspec', length: 20, source: undefined },
    ],
    [
      'TCP over IPv4 with NOOP and AUTHORITY TLVs',
      v2(
        0x21,
        0x11,
        `0a000001 0a000002 3039 1b58 04 0002 0000 02 000b ${Buffer.from('example.com').toString('hex')}`,
      ),
      {
        source: { address: '10.0.0.1', port: 12345 },
        tlvs: [
          { type: 0x04, value: Buffer.alloc(2) },
          { type: 0x02, value: Buffer.from('example.com') },
        ],
      },
    ],
  ];

  test.each(vectors)('parses %s, whole and one byte at a time', (_name, bytes, expected) => {
    const clientHello = Buffer.from('160301', 'hex');
    const whole = parseWhole(Buffer.concat([bytes, clientHello]));
    expect({ source: undefined, ...whole?.header }).toMatchObject({
      version: 2,
      length: bytes.length,
      tlvs: [],
      ...expected,
    });
    expect(whole?.rest).toEqual(clientHello);
    const trickled = parseByteByByte(bytes);
    expect(trickled?.header).toEqual(whole?.header);
  });

  test.each([
    ['version 1 in the binary format', v2(0x11, 0x11, '00'.repeat(12)), /version 1, expected 2/],
    ['an unassigned command', v2(0x22, 0x11, '00'.repeat(12)), /unknown command 0x02/],
    ['an unknown address family', v2(0x21, 0x41, '00'.repeat(12)), /family\/transport 0x41/],
    ['an unknown transport', v2(0x21, 0x13, '00'.repeat(12)), /family\/transport 0x13/],
    ['IPv4 with a short address block', v2(0x21, 0x11, '7f000001'), /IPv4 addresses need 12 bytes/],
    ['IPv6 with an IPv4-sized block', v2(0x21, 0x21, '00'.repeat(12)), /IPv6 addresses need 36/],
    ['a TLV running past the header', v2(0x21, 0x11, `${'00'.repeat(12)} 04 0009 0000`), /TLV runs past/],
    ['a truncated TLV header', v2(0x21, 0x11, `${'00'.repeat(12)} 04 00`), /truncated TLV/],
  ])('rejects %s', (_name, bytes, message) => {
    expect(rejection(bytes).message).toMatch(message);
  });

  test('refuses an oversized length after the 16 fixed bytes, before waiting for the body', () => {
    const parser = new ProxyHeaderParser();
    const fixed = Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    const error = rejection(fixed, parser);
    expect(error.code).toBe('ERR_PROXY_HEADER_TOO_LARGE');
    expect(error.message).toBe(
      `PROXY v2 header declares 65551 bytes, above the ${V2_DEFAULT_MAX_LENGTH}-byte maximum`,
    );
    // Failed for good: the next bytes do not revive it.
    expect(() => parser.push(Buffer.alloc(12))).toThrow(error);
  });

  test('accepts a header exactly at maxV2Length and refuses one byte more', () => {
    const body = (length: number) =>
      Buffer.concat([
        Buffer.alloc(12),
        Buffer.from([0xee, (length - 15) >> 8, (length - 15) & 0xff]),
        Buffer.alloc(length - 15),
      ]);
    const max = 300;
    expect(
      new ProxyHeaderParser({ maxV2Length: max }).push(v2(0x21, 0x11, body(max - 16)))?.header.length,
    ).toBe(max);
    expect(rejection(v2(0x21, 0x11, body(max - 15)), new ProxyHeaderParser({ maxV2Length: max })).code).toBe(
      'ERR_PROXY_HEADER_TOO_LARGE',
    );
  });

  test('refuses a wrong signature at its first wrong byte', () => {
    const parser = new ProxyHeaderParser();
    expect(parser.push(SIGNATURE.subarray(0, 4))).toBeUndefined();
    expect(rejection(Buffer.from([0x01]), parser).code).toBe('ERR_PROXY_HEADER_MISSING');
  });
});

describe('a connection without a PROXY header', () => {
  test('a TLS ClientHello is refused at its first byte with a hint about bypassing the balancer', () => {
    const error = rejection(Buffer.from('160301020001', 'hex'));
    expect(error.code).toBe('ERR_PROXY_HEADER_MISSING');
    expect(error.message).toBe(
      'expected a PROXY protocol header, got a TLS handshake (is the client connecting directly, not through the balancer?)',
    );
  });

  test('random bytes give a header, a wait, or a ProtocolError, within the bounds, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, v2Start) => {
        const input = Buffer.concat([v2Start ? SIGNATURE : Buffer.alloc(0), Buffer.from(bytes)]);
        const parser = new ProxyHeaderParser();
        try {
          const result = parser.push(input);
          if (result === undefined) {
            // Still waiting: only possible while under the bound of the version it started as.
            expect(input.length).toBeLessThan(input[0] === 0x50 ? V1_MAX_LENGTH : V2_DEFAULT_MAX_LENGTH);
          } else {
            expect(result.header.length + result.rest.length).toBe(input.length);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('any chunking gives the same header and the same trailing bytes', () => {
  const byte = fc.integer({ min: 0, max: 255 });
  const port = fc.integer({ min: 0, max: 65535 });
  const ipv4 = fc.tuple(byte, byte, byte, byte).map((parts) => parts.join('.'));
  const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const headerArbitrary = fc.oneof(
    fc.tuple(ipv4, ipv4, port, port).map(([s, d, sp, dp]) => ({
      bytes: Buffer.from(`PROXY TCP4 ${s} ${d} ${sp} ${dp}\r\n`),
      source: { address: s, port: sp },
    })),
    fc.tuple(ipv6Bytes, ipv6Bytes, port, port).map(([s, d, sp, dp]) => {
      const ports = Buffer.alloc(4);
      ports.writeUInt16BE(sp, 0);
      ports.writeUInt16BE(dp, 2);
      const source = new net.SocketAddress({ address: ipv6Text(s), family: 'ipv6' }).address;
      return { bytes: v2(0x21, 0x21, Buffer.concat([s, d, ports])), source: { address: source, port: sp } };
    }),
  );

  test('for v1 TCP4 and v2 TCP6 headers followed by data', () => {
    fc.assert(
      fc.property(
        headerArbitrary,
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        ({ bytes, source }, trailing, cuts) => {
          const input = Buffer.concat([bytes, trailing]);
          const parser = new ProxyHeaderParser();
          let result: ProxyHeaderResult | undefined;
          let offset = 0;
          const after: Buffer[] = [];
          for (const size of [...cuts, input.length]) {
            if (offset >= input.length) break;
            const chunk = input.subarray(offset, offset + size);
            offset += chunk.length;
            if (result) after.push(chunk);
            else result = parser.push(chunk);
            if (result && after.length === 0) after.push(result.rest);
          }
          expect(result?.header.source).toEqual(source);
          expect(result?.header.length).toBe(bytes.length);
          expect(Buffer.concat(after)).toEqual(Buffer.from(trailing));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// 16 bytes as eight uncompressed groups; SocketAddress turns that into the form Node logs peers in.
function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
