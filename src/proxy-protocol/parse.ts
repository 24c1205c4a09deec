import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { ProtocolError } from '../errors.js';
import {
  V2_ADDRESS_LENGTH,
  V2_COMMAND_LOCAL,
  V2_COMMAND_PROXY,
  V2_FIXED_LENGTH,
  V2_SIGNATURE,
  V2_VERSION,
  printable,
} from './wire.js';

// The PROXY protocol, versions 1 and 2, receiver side, after HAProxy's specification:
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt (section numbers below refer to it).
// A load balancer that relays TCP (HAProxy `send-proxy[-v2]`, nginx `proxy_protocol on`, cloud network
// load balancers) writes one header before the client's first byte, so the server learns the client's
// address although the TCP connection comes from the balancer.
// This file turns bytes into a header or a ProtocolError and owns no I/O: read.ts reads a header from a
// socket with it, and encode.ts is the sender side, for clients that check such a server directly.

/** "PROXY " — the start of every version 1 header (section 2.1). */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest version 1 line, CRLF included: `PROXY UNKNOWN` with two full IPv6 addresses (section 2.1). */
export const V1_MAX_LENGTH = 107;
/**
 * The default bound on a whole version 2 header. The spec sizes headers to fit one 536-byte segment; TLVs
 * (ALPN, SNI, unique id, TLS details, cloud endpoint ids) may push past that, so allow a few of them, and
 * refuse the length field's full 64 KiB: a peer must not make us buffer that much before the handshake.
 */
export const V2_DEFAULT_MAX_LENGTH = 2048;
const V2_UNIX_PATH_LENGTH = 108;
const TLV_HEADER_LENGTH = 3;
/** The first byte of a TLS record carrying a handshake: a client that bypassed the balancer. */
const TLS_HANDSHAKE_RECORD = 0x16;

const CR = 0x0d;
const LF = 0x0a;

export type ProxyFamily = 'IPv4' | 'IPv6' | 'unix' | 'unspec';
export type ProxyTransport = 'stream' | 'dgram' | 'unspec';

/** One end of the original connection: an IP address and port, or a UNIX socket path (no port). */
export interface ProxyEndpoint {
  address: string;
  port?: number;
}

/** A version 2 Type-Length-Value extension, passed through unparsed (section 2.2). */
export interface ProxyTlv {
  type: number;
  value: Buffer;
}

/**
 * What a PROXY header said. `source` and `destination` are set only when the header describes a relayed
 * connection in a family we understand; otherwise (v1 `UNKNOWN`, v2 `LOCAL` health checks, v2 `UNSPEC`)
 * the spec says to use the real socket's addresses.
 */
export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: the balancer's own connection, e.g. a health check (v2 only). */
  command: 'proxy' | 'local';
  family: ProxyFamily;
  transport: ProxyTransport;
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  tlvs: ProxyTlv[];
  /** Bytes the header took on the wire. */
  length: number;
}

/** A complete header and the bytes that followed it in the same chunk (the start of the TLS handshake). */
export interface ProxyHeaderResult {
  header: ProxyHeader;
  rest: Buffer;
}

export interface ProxyHeaderParserOptions {
  /** Largest version 2 header accepted, fixed part included. Default 2048. */
  maxV2Length?: number;
}

/** A refused header, with the hint a server operator needs. Exported as `invalidProxyHeader` for read.ts. */
function invalid(message: string, code = 'ERR_PROXY_PROTOCOL'): ProtocolError {
  return new ProtocolError(message, code, {
    hint: 'with --proxy-protocol every connection must come through a balancer that sends a PROXY header',
  });
}

/**
 * Reads one PROXY protocol header (v1 or v2, told apart by the first byte) from chunks pushed as they
 * arrive. Bounded: it never holds more than the header itself, refuses a v1 line past 107 bytes or a v2
 * header past `maxV2Length` as soon as either is certain, and fails at the first byte that breaks the
 * format. Push-driven and I/O free; `readProxyHeader` (read.ts) wraps it for a socket.
 */
export class ProxyHeaderParser {
  readonly maxV2Length: number;
  #version: 1 | 2 | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #filled = 0;
  #needed = V2_FIXED_LENGTH; // v2: the whole header length once the fixed part is in
  #failed: ProtocolError | undefined;
  #done = false;

  constructor(options: ProxyHeaderParserOptions = {}) {
    this.maxV2Length = options.maxV2Length ?? V2_DEFAULT_MAX_LENGTH;
    if (!Number.isInteger(this.maxV2Length) || this.maxV2Length < V2_FIXED_LENGTH + V2_ADDRESS_LENGTH.unix) {
      // A bound that cannot hold a UNIX address block would refuse valid headers from honest balancers.
      throw new RangeError(`maxV2Length must be an integer >= ${V2_FIXED_LENGTH + V2_ADDRESS_LENGTH.unix}`);
    }
  }

  /** Bytes of the header received so far. */
  get received(): number {
    return this.#filled;
  }

  /**
   * Feeds the next chunk. Returns the header and the bytes after it once the header is complete, or
   * `undefined` while more bytes are needed. Throws ProtocolError on anything that is not a valid header;
   * after a failure (or once done) the parser refuses further input.
   */
  push(chunk: Buffer): ProxyHeaderResult | undefined {
    if (this.#failed) throw this.#failed;
    if (this.#done) throw new Error('ProxyHeaderParser.push called after the header was complete');
    try {
      return this.#push(chunk);
    } catch (error) {
      if (error instanceof ProtocolError) this.#failed = error;
      throw error;
    }
  }

  #push(chunk: Buffer): ProxyHeaderResult | undefined {
    if (chunk.length === 0) return undefined;
    if (this.#version === undefined) this.#start(chunk[0]!);
    return this.#version === 1 ? this.#pushV1(chunk) : this.#pushV2(chunk);
  }

  // Section 2.2: "PROXY" means version 1, the binary signature means version 2, anything else is dropped.
  #start(first: number): void {
    if (first === V1_PREFIX[0]) {
      this.#version = 1;
      this.#buffer = Buffer.allocUnsafe(V1_MAX_LENGTH);
    } else if (first === V2_SIGNATURE[0]) {
      this.#version = 2;
      this.#buffer = Buffer.allocUnsafe(V2_FIXED_LENGTH);
    } else if (first === TLS_HANDSHAKE_RECORD) {
      throw invalid(
        'expected a PROXY protocol header, got a TLS handshake (is the client connecting directly, not through the balancer?)',
        'ERR_PROXY_HEADER_MISSING',
      );
    } else {
      throw invalid(`expected a PROXY protocol header, got byte 0x${hex(first)}`, 'ERR_PROXY_HEADER_MISSING');
    }
  }

  #pushV1(chunk: Buffer): ProxyHeaderResult | undefined {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const position = this.#filled;
      this.#buffer[position] = byte;
      this.#filled += 1;
      if (position < V1_PREFIX.length) {
        if (byte !== V1_PREFIX[position])
          throw invalid('invalid PROXY v1 header: it must start with "PROXY "');
        continue;
      }
      const previous = this.#buffer[position - 1]!;
      // "The receiver must not tolerate a single CR or LF character to end the line" (section 2.1).
      if (previous === CR && byte !== LF) throw invalid('invalid PROXY v1 header: CR not followed by LF');
      if (byte === LF) {
        if (previous !== CR) throw invalid('invalid PROXY v1 header: line ends with LF instead of CRLF');
        this.#done = true;
        const header = parseV1Line(this.#buffer.toString('latin1', 0, this.#filled - 2), this.#filled);
        return { header, rest: chunk.subarray(i + 1) };
      }
      if (this.#filled === V1_MAX_LENGTH) {
        throw invalid(
          `invalid PROXY v1 header: no CRLF within ${V1_MAX_LENGTH} bytes`,
          'ERR_PROXY_HEADER_TOO_LARGE',
        );
      }
    }
    return undefined;
  }

  #pushV2(chunk: Buffer): ProxyHeaderResult | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.#needed - this.#filled, chunk.length - offset);
      const start = this.#filled;
      chunk.copy(this.#buffer, start, offset, offset + take);
      this.#filled += take;
      offset += take;
      if (start < V2_SIGNATURE.length) this.#checkSignature(start);
      if (this.#filled < this.#needed) return undefined;
      if (this.#needed === V2_FIXED_LENGTH) {
        this.#readFixedPart();
        if (this.#needed > V2_FIXED_LENGTH) continue;
      }
      this.#done = true;
      const header = parseV2Body(this.#buffer);
      return { header, rest: chunk.subarray(offset) };
    }
    return undefined;
  }

  // Compares each new signature byte as it arrives, so a non-PROXY peer is refused at its first wrong byte.
  #checkSignature(from: number): void {
    const to = Math.min(this.#filled, V2_SIGNATURE.length);
    for (let i = from; i < to; i++) {
      if (this.#buffer[i] !== V2_SIGNATURE[i]) {
        throw invalid('invalid PROXY v2 header: wrong signature', 'ERR_PROXY_HEADER_MISSING');
      }
    }
  }

  // Validates version, command, family and length before any of the variable part is awaited.
  #readFixedPart(): void {
    const versionCommand = this.#buffer[12]!;
    if (versionCommand >> 4 !== V2_VERSION) {
      throw invalid(`invalid PROXY v2 header: version ${versionCommand >> 4}, expected 2`);
    }
    const command = versionCommand & 0x0f;
    if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) {
      throw invalid(`invalid PROXY v2 header: unknown command 0x${hex(command)}`);
    }
    describeFamily(this.#buffer[13]!); // throws on an unknown family or transport
    const total = V2_FIXED_LENGTH + this.#buffer.readUInt16BE(14);
    if (total > this.maxV2Length) {
      throw invalid(
        `PROXY v2 header declares ${total} bytes, above the ${this.maxV2Length}-byte maximum`,
        'ERR_PROXY_HEADER_TOO_LARGE',
      );
    }
    if (total > V2_FIXED_LENGTH) {
      const whole = Buffer.allocUnsafe(total);
      this.#buffer.copy(whole, 0, 0, V2_FIXED_LENGTH);
      this.#buffer = whole;
    }
    this.#needed = total;
  }
}

// Canonical forms only (section 2.1): no leading zeros, decimal ports in [0, 65535], hex-and-colon IPv6.
const V1_PORT = /^(0|[1-9][0-9]{0,4})$/;
const V1_IPV4 = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$/;
// RFC 4291 section 2.2 allows a dotted IPv4 tail, and inet_ntop (HAProxy) writes IPv4-mapped addresses so.
const V1_IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

function parseV1Line(line: string, length: number): ProxyHeader {
  const fields = line.split(' ');
  const protocol = fields[1];
  // "For UNKNOWN, the rest of the line before the CRLF may be omitted by the sender, and the receiver must
  // ignore anything presented before the CRLF is found" (section 2.1).
  if (protocol === 'UNKNOWN') {
    return { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', tlvs: [], length };
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    throw invalid(`invalid PROXY v1 header: unknown protocol '${printable(protocol ?? '')}'`);
  }
  if (fields.length !== 6) {
    throw invalid(
      `invalid PROXY v1 header: expected 'PROXY ${protocol} <source> <destination> <source port> <destination port>'`,
    );
  }
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6';
  const [, , sourceAddress, destinationAddress, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    version: 1,
    command: 'proxy',
    family,
    transport: 'stream',
    source: { address: v1Address(sourceAddress, family), port: v1Port(sourcePort) },
    destination: { address: v1Address(destinationAddress, family), port: v1Port(destinationPort) },
    tlvs: [],
    length,
  };
}

function v1Address(text: string, family: 'IPv4' | 'IPv6'): string {
  const valid = family === 'IPv4' ? V1_IPV4.test(text) && isIPv4(text) : V1_IPV6.test(text) && isIPv6(text);
  if (!valid) throw invalid(`invalid PROXY v1 header: '${printable(text)}' is not an ${family} address`);
  return text;
}

function v1Port(text: string): number {
  const port = V1_PORT.test(text) ? Number(text) : NaN;
  if (!(port <= 0xffff)) throw invalid(`invalid PROXY v1 header: '${printable(text)}' is not a port`);
  return port;
}

function describeFamily(byte: number): { family: ProxyFamily; transport: ProxyTransport } {
  // The seven combinations section 2.2 lists; "other values ... must be rejected as invalid by receivers".
  switch (byte) {
    case 0x00:
      return { family: 'unspec', transport: 'unspec' };
    case 0x11:
      return { family: 'IPv4', transport: 'stream' };
    case 0x12:
      return { family: 'IPv4', transport: 'dgram' };
    case 0x21:
      return { family: 'IPv6', transport: 'stream' };
    case 0x22:
      return { family: 'IPv6', transport: 'dgram' };
    case 0x31:
      return { family: 'unix', transport: 'stream' };
    case 0x32:
      return { family: 'unix', transport: 'dgram' };
    default:
      throw invalid(`invalid PROXY v2 header: unknown address family/transport 0x${hex(byte)}`);
  }
}

function parseV2Body(header: Buffer): ProxyHeader {
  const command = (header[12]! & 0x0f) === V2_COMMAND_LOCAL ? 'local' : 'proxy';
  const { family, transport } = describeFamily(header[13]!);
  const length = header.length;
  // "Receivers MUST always consider this field to skip the appropriate number of bytes". For LOCAL the
  // receiver must "discard the protocol block including the family", and for UNSPEC it "should ignore
  // address information" (section 2.2): in both the block is opaque, so it is skipped unread.
  if (command === 'local' || family === 'unspec') {
    return { version: 2, command, family, transport, tlvs: [], length };
  }
  const body = header.subarray(V2_FIXED_LENGTH);
  const addressLength = V2_ADDRESS_LENGTH[family];
  if (body.length < addressLength) {
    throw invalid(
      `invalid PROXY v2 header: ${family} addresses need ${addressLength} bytes, the header has ${body.length}`,
    );
  }
  const tlvs = parseTlvs(body.subarray(addressLength));
  const result: ProxyHeader = { version: 2, command, family, transport, tlvs, length };
  if (family === 'unix') {
    result.source = { address: unixPath(body.subarray(0, V2_UNIX_PATH_LENGTH)) };
    result.destination = { address: unixPath(body.subarray(V2_UNIX_PATH_LENGTH, 2 * V2_UNIX_PATH_LENGTH)) };
    return result;
  }
  const size = family === 'IPv4' ? 4 : 16;
  const portsAt = 2 * size;
  result.source = { address: ipAddress(body.subarray(0, size)), port: body.readUInt16BE(portsAt) };
  result.destination = {
    address: ipAddress(body.subarray(size, 2 * size)),
    port: body.readUInt16BE(portsAt + 2),
  };
  return result;
}

// TLVs are skipped, but their lengths must add up: a chain that overruns the header is a broken sender.
function parseTlvs(bytes: Buffer): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < TLV_HEADER_LENGTH) {
      throw invalid('invalid PROXY v2 header: truncated TLV');
    }
    const valueLength = bytes.readUInt16BE(offset + 1);
    const end = offset + TLV_HEADER_LENGTH + valueLength;
    if (end > bytes.length) throw invalid('invalid PROXY v2 header: a TLV runs past the end of the header');
    tlvs.push({ type: bytes[offset]!, value: bytes.subarray(offset + TLV_HEADER_LENGTH, end) });
    offset = end;
  }
  return tlvs;
}

// Formatted the way Node formats socket.remoteAddress (libuv's inet_ntop: RFC 5952 compression, and
// dotted quads for IPv4-mapped addresses), so a proxied peer reads like a direct one in the logs.
function ipAddress(bytes: Buffer): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

// The path is whatever the balancer's own client bound its socket to: it reaches logs and an exec child's
// REMOTE_ADDR, so every byte outside printable ASCII is shown as \xNN (as in a message preview).
function unixPath(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  let path = '';
  for (const byte of bytes.subarray(0, end < 0 ? bytes.length : end)) {
    path += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${hex(byte)}`;
  }
  return path;
}

export { invalid as invalidProxyHeader };

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
