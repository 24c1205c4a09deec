import { isIPv4, isIPv6 } from 'node:net';
import {
  V2_ADDRESS_LENGTH,
  V2_COMMAND_LOCAL,
  V2_COMMAND_PROXY,
  V2_FIXED_LENGTH,
  V2_SIGNATURE,
  V2_VERSION,
  printable,
} from './wire.js';

// The PROXY protocol, versions 1 and 2, sender side, after HAProxy's specification:
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt (section numbers below refer to it).
// For clients that check a server behind a balancer directly (`--proxy-header`), and for tests that play
// the balancer.

/** The connection a PROXY header describes: both ends IPv4, or both IPv6. */
export interface ProxiedAddresses {
  /** The client. */
  source: { address: string; port: number };
  /** The address the client connected to. */
  destination: { address: string; port: number };
}

/** Family/transport bytes for TCP over IPv4 and over IPv6 (section 2.2). */
const V2_TCP_OVER = { IPv4: 0x11, IPv6: 0x21 } as const;
const V2_UNSPEC = 0x00;

/**
 * A version 2 header. Without addresses it carries the LOCAL command with no address block: "the
 * connection was established on purpose by the proxy without being relayed", as for health checks, and
 * the receiver uses the real connection's addresses (section 2.2). With addresses, the PROXY command over
 * TCP. Throws RangeError on an address that is not IPv4 or IPv6, mixed families, or a bad port.
 */
export function encodeProxyHeaderV2(addresses?: ProxiedAddresses): Buffer {
  if (!addresses) {
    // 16 bytes: the same LOCAL/UNSPEC header HAProxy's own health checks send.
    return Buffer.concat([
      V2_SIGNATURE,
      Buffer.from([(V2_VERSION << 4) | V2_COMMAND_LOCAL, V2_UNSPEC, 0x00, 0x00]),
    ]);
  }
  const family = addressFamily(addresses);
  const size = family === 'IPv4' ? 4 : 16;
  const blockLength = V2_ADDRESS_LENGTH[family];
  const header = Buffer.alloc(V2_FIXED_LENGTH + blockLength);
  V2_SIGNATURE.copy(header, 0);
  header[12] = (V2_VERSION << 4) | V2_COMMAND_PROXY;
  header[13] = V2_TCP_OVER[family];
  header.writeUInt16BE(blockLength, 14);
  ipBytes(addresses.source.address, family).copy(header, V2_FIXED_LENGTH);
  ipBytes(addresses.destination.address, family).copy(header, V2_FIXED_LENGTH + size);
  header.writeUInt16BE(addresses.source.port, V2_FIXED_LENGTH + 2 * size);
  header.writeUInt16BE(addresses.destination.port, V2_FIXED_LENGTH + 2 * size + 2);
  return header;
}

/**
 * A version 1 line. Without addresses, `PROXY UNKNOWN\r\n`: version 1 has no LOCAL command, and UNKNOWN
 * tells the receiver to use the real connection's addresses (section 2.1). With addresses, `TCP4` or
 * `TCP6` in the canonical forms section 2.1 asks for. Throws RangeError as `encodeProxyHeaderV2` does.
 */
export function encodeProxyHeaderV1(addresses?: ProxiedAddresses): Buffer {
  if (!addresses) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const family = addressFamily(addresses);
  const text = (address: string) =>
    family === 'IPv4' ? ipBytes(address, family).join('.') : v1Ipv6(ipBytes(address, family));
  const { source, destination } = addresses;
  const protocol = family === 'IPv4' ? 'TCP4' : 'TCP6';
  const line = `PROXY ${protocol} ${text(source.address)} ${text(destination.address)} ${source.port} ${destination.port}\r\n`;
  return Buffer.from(line, 'latin1');
}

function addressFamily({ source, destination }: ProxiedAddresses): 'IPv4' | 'IPv6' {
  for (const { port } of [source, destination]) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new RangeError(`PROXY header: ${String(port)} is not a port (0 to 65535)`);
    }
  }
  const families = [source.address, destination.address].map((address) => {
    // A zone (fe80::1%eth0) means nothing to the receiver, and the header has no room for one.
    if (isIPv4(address)) return 'IPv4';
    if (isIPv6(address) && !address.includes('%')) return 'IPv6';
    throw new RangeError(`PROXY header: '${printable(address)}' is not an IPv4 or IPv6 address`);
  });
  if (families[0] !== families[1]) {
    throw new RangeError(
      `PROXY header: source ${source.address} and destination ${destination.address} must both be IPv4 or both IPv6`,
    );
  }
  return families[0]!;
}

// The address as network-order bytes; `isIPv4`/`isIPv6` have already vouched for its syntax.
function ipBytes(address: string, family: 'IPv4' | 'IPv6'): Buffer {
  if (family === 'IPv4') return Buffer.from(address.split('.').map(Number));
  // A dotted IPv4 tail (::ffff:192.0.2.1) stands for the last two 16-bit groups.
  const lastColon = address.lastIndexOf(':');
  let text = address;
  if (address.includes('.', lastColon)) {
    const tail = ipBytes(address.slice(lastColon + 1), 'IPv4');
    text = `${address.slice(0, lastColon + 1)}${tail.readUInt16BE(0).toString(16)}:${tail.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : Array<string>(8 - headGroups.length - restGroups.length).fill('0');
  const bytes = Buffer.alloc(16);
  [...headGroups, ...zeros, ...restGroups].forEach((group, i) =>
    bytes.writeUInt16BE(parseInt(group, 16), 2 * i),
  );
  return bytes;
}

// RFC 5952 (the longest run of two or more zero groups becomes "::", the first on a tie), but always in
// hex: a dotted IPv4 tail is not in the "hexadecimal digits and colons" section 2.1 allows.
function v1Ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < groups.length;) {
    let end = i;
    while (end < groups.length && groups[end] === '0') end += 1;
    if (end - i > runLength) [runStart, runLength] = [i, end - i];
    i = Math.max(end, i + 1);
  }
  if (runStart < 0) return groups.join(':');
  return `${groups.slice(0, runStart).join(':')}::${groups.slice(runStart + runLength).join(':')}`;
}
