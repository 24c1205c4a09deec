import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { generateSelfSigned } from '../../src/certs/generate.js';
import { ProtocolError, TimeoutError } from '../../src/errors.js';
import { originalPeer, readProxyHeader } from '../../src/proxy-protocol/read.js';

// The version 2 signature, in hex; the headers below are spelled out byte by byte after it.
const SIGNATURE = '0d0a0d0a000d0a515549540a';

describe('readProxyHeader on a real socket in front of a TLS server', () => {
  async function startProxiedTlsServer(timeoutMs = 2000) {
    const cert = await generateSelfSigned();
    const peers: string[] = [];
    const failures: Error[] = [];
    // The TLS server never listens: the raw server hands it each socket once the header is read.
    const tlsServer = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => {
      socket.pipe(socket);
    });
    const rawServer = net.createServer((socket) => {
      readProxyHeader(socket, { timeoutMs }).then(
        (header) => {
          const peer = originalPeer(header, socket);
          peers.push(`${peer.address}:${peer.port}`);
          tlsServer.emit('connection', socket);
        },
        (error: Error) => {
          failures.push(error);
          socket.destroy();
        },
      );
    });
    rawServer.listen(0, '127.0.0.1');
    await once(rawServer, 'listening');
    onTestFinished(() => {
      rawServer.close();
    });
    const { port } = rawServer.address() as net.AddressInfo;
    return { port, ca: cert.certPem, peers, failures };
  }

  async function echoOnce(socket: tls.TLSSocket, message: string): Promise<string> {
    await once(socket, 'secureConnect');
    socket.write(message);
    const [reply] = (await once(socket, 'data')) as [Buffer];
    socket.end();
    return reply.toString();
  }

  test('header and ClientHello in one chunk: the handshake succeeds and the original address is used', async () => {
    const server = await startProxiedTlsServer();
    const raw = net.connect(server.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    const header = Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\n');
    let first = true;
    // A stand-in for a balancer: the header goes out in the same write as the ClientHello.
    const prefixing = new Duplex({
      write(chunk: Buffer, _encoding, callback) {
        raw.write(first ? Buffer.concat([header, chunk]) : chunk, callback);
        first = false;
      },
      read() {},
      final(callback) {
        raw.end(callback);
      },
    });
    raw.on('data', (chunk: Buffer) => prefixing.push(chunk));
    raw.on('end', () => prefixing.push(null));
    const client = tls.connect({ socket: prefixing, ca: server.ca, servername: 'localhost' });
    expect(await echoOnce(client, 'hello')).toBe('hello');
    expect(server.peers).toEqual(['203.0.113.7:4242']);
  });

  test('a v2 header written before the handshake, in its own packet', async () => {
    const server = await startProxiedTlsServer();
    const raw = net.connect(server.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    await once(raw, 'connect');
    // PROXY over TCP/IPv4, 12 address bytes: 198.51.100.10:54321 to 192.0.2.1:443.
    const header = Buffer.from(`${SIGNATURE}2111000c` + 'c633640a' + 'c0000201' + 'd431' + '01bb', 'hex');
    await new Promise((resolve) => raw.write(header, resolve));
    const client = tls.connect({ socket: raw, ca: server.ca, servername: 'localhost' });
    expect(await echoOnce(client, 'over v2')).toBe('over v2');
    expect(server.peers).toEqual(['198.51.100.10:54321']);
  });

  test('a LOCAL header (a health check) falls back to the socket address', async () => {
    const server = await startProxiedTlsServer();
    const raw = net.connect(server.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    await once(raw, 'connect');
    raw.write(Buffer.from(`${SIGNATURE}20000000`, 'hex')); // LOCAL, UNSPEC, no address block
    const client = tls.connect({ socket: raw, ca: server.ca, servername: 'localhost' });
    expect(await echoOnce(client, 'ping')).toBe('ping');
    expect(server.peers).toEqual([`127.0.0.1:${raw.localPort}`]);
  });

  test('a client speaking TLS directly is refused and never gets a handshake', async () => {
    const server = await startProxiedTlsServer();
    const client = tls.connect({
      port: server.port,
      host: '127.0.0.1',
      ca: server.ca,
      servername: 'localhost',
    });
    onTestFinished(() => void client.destroy());
    const [error] = (await once(client, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toMatch(/ECONNRESET|EPIPE/);
    expect(server.failures.map((e) => (e as ProtocolError).code)).toEqual(['ERR_PROXY_HEADER_MISSING']);
  });

  test('a connection that closes halfway through the header is reported as truncated', async () => {
    const server = await startProxiedTlsServer();
    const raw = net.connect(server.port, '127.0.0.1');
    raw.end('PROXY TCP4 1.2.3.4');
    await once(raw, 'close');
    await until(() => server.failures.length > 0);
    expect(server.failures[0]).toBeInstanceOf(ProtocolError);
    expect(server.failures[0]?.message).toBe(
      'connection closed inside the PROXY protocol header, after 18 bytes',
    );
  });

  test('a connection that sends nothing times out with a TimeoutError', async () => {
    const server = await startProxiedTlsServer(100);
    const raw = net.connect(server.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    await once(raw, 'close');
    expect(server.failures[0]).toBeInstanceOf(TimeoutError);
    expect(server.failures[0]?.message).toBe('no PROXY protocol header within 100ms');
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
