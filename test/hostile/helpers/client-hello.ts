import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const RECORD_HEADER = 5;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;

/**
 * The first TLS record a real Node client sends (its ClientHello), caught by a plain TCP listener that
 * never answers: the genuine article for clients that stop half way through it.
 */
export async function captureClientHello(): Promise<Buffer> {
  const listener = createTcpServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  try {
    const accepted = once(listener, 'connection');
    const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost' });
    client.on('error', () => {}); // destroyed mid-handshake on purpose
    const [socket] = (await accepted) as [import('node:net').Socket];
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= RECORD_HEADER && received.length >= RECORD_HEADER + received.readUInt16BE(3)) {
        break;
      }
    }
    client.destroy();
    socket.destroy();
    return received.subarray(0, RECORD_HEADER + received.readUInt16BE(3));
  } finally {
    listener.close();
  }
}

// RSA and ECDHE suites every pre-1.2 client offered: AES128-SHA, AES256-SHA, ECDHE-ECDSA-AES128-SHA,
// ECDHE-RSA-AES128-SHA, DES-CBC3-SHA.
const LEGACY_SUITES = [0x002f, 0x0035, 0xc009, 0xc013, 0x000a];

const LEGACY_EXTENSIONS = Buffer.from([
  ...[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17], // supported_groups: secp256r1
  ...[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00], // ec_point_formats: uncompressed
]);

/**
 * A ClientHello as an SSLv3 (0x0300), TLS 1.0 (0x0301) or TLS 1.1 (0x0302) client writes it (RFC 5246
 * §7.4.1.2): that version as legacy_version and in the record header, no supported_versions extension, so
 * the highest version it offers is that one. Built by hand because a local OpenSSL may refuse to send one.
 */
export function legacyClientHello(version: 0x0300 | 0x0301 | 0x0302): Buffer {
  const suites = Buffer.alloc(2 + LEGACY_SUITES.length * 2);
  suites.writeUInt16BE(LEGACY_SUITES.length * 2, 0);
  LEGACY_SUITES.forEach((suite, index) => suites.writeUInt16BE(suite, 2 + index * 2));
  const body = Buffer.concat([
    u16(version),
    Buffer.alloc(32, 0x42), // random
    Buffer.from([0]), // no session id
    suites,
    Buffer.from([1, 0]), // compression: null only
    // Extensions (none in SSLv3): supported_groups P-256, ec_point_formats uncompressed.
    ...(version === 0x0300 ? [] : [u16(LEGACY_EXTENSIONS.length), LEGACY_EXTENSIONS]),
  ]);
  const handshake = Buffer.concat([Buffer.from([CLIENT_HELLO]), u24(body.length), body]);
  return Buffer.concat([
    Buffer.from([HANDSHAKE]),
    u16(version === 0x0300 ? 0x0300 : 0x0301),
    u16(handshake.length),
    handshake,
  ]);
}

/** An SSL 2.0-format ClientHello (RFC 6101 appendix E.2) offering at most TLS 1.0, as very old clients sent. */
export function sslv2ClientHello(): Buffer {
  const cipherSpecs = Buffer.from([0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x00, 0x00, 0x0a]);
  const challenge = Buffer.alloc(16, 0x43);
  const body = Buffer.concat([
    Buffer.from([0x01]), // CLIENT-HELLO
    u16(0x0301),
    u16(cipherSpecs.length),
    u16(0), // session id length
    u16(challenge.length),
    cipherSpecs,
    challenge,
  ]);
  return Buffer.concat([u16(0x8000 | body.length), body]);
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

function u24(value: number): Buffer {
  const bytes = Buffer.alloc(3);
  bytes.writeUIntBE(value, 0, 3);
  return bytes;
}
