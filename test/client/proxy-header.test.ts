import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { connectFramed } from '../../src/client/dial.js';
import type { FramedClient } from '../../src/client/framed-client.js';
import { localProxyHeader } from '../../src/client/proxy-header.js';
import { ConnectionError, InterruptedError, TimeoutError, TlsFailureError } from '../../src/errors.js';
import type { ConnectionInfo } from '../../src/server/connection.js';
import type { ProxyHeaderFailure } from '../../src/server/proxy-listener.js';
import { encodeProxyHeaderV2 } from '../../src/proxy-protocol/encode.js';
import { readProxyHeader } from '../../src/proxy-protocol/read.js';
import { startServer, testPki, waitForEvent } from '../server/helpers/fixture.js';
import { open } from './helpers/framed-client.js';
import { unusedPort } from './helpers/framed-server.js';

// connectFramed({ proxyHeader }) against createServer({ proxyProtocol: true }): the client plays its own
// balancer, writing the header on the TCP connection and then speaking TLS, with verification on.

async function proxiedServer() {
  const running = await startServer({ proxyProtocol: true });
  return { ...running, tls: { ca: [running.pki.ca.certPem] } };
}

async function echo(client: FramedClient, text: string): Promise<string> {
  await client.send(Buffer.from(text));
  for await (const reply of client) return reply.toString();
  throw new Error('no reply');
}

/** A TCP server that records what each client sends and never answers. */
async function startRecordingServer(): Promise<{
  port: number;
  received(): Promise<Buffer>;
  firstBytes(): Promise<void>;
  connections(): number;
}> {
  const sockets: Socket[] = [];
  const server = createTcpServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.length,
    // Resolves when the first client has sent something.
    firstBytes: async () => {
      if (sockets.length === 0) await once(server, 'connection');
      await once(sockets[0]!, 'readable');
    },
    // Everything the first client sent, once it has closed.
    received: async () => {
      if (sockets.length === 0) await once(server, 'connection');
      const socket = sockets[0]!;
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      if (!socket.destroyed) await once(socket, 'close');
      return Buffer.concat(chunks);
    },
  };
}

describe('connectFramed with a PROXY header', () => {
  test.each(['v1', 'v2'] as const)(
    '%s LOCAL header: the exchange works and the server sees the connection as it is',
    async (version) => {
      const server = await proxiedServer();
      const accepted = waitForEvent(server.server, 'connection') as Promise<ConnectionInfo>;
      const client = await open({
        host: '127.0.0.1',
        port: server.port,
        tls: server.tls,
        proxyHeader: localProxyHeader(version),
      });
      expect(client.peer.verified).toBe(true);
      expect(await echo(client, 'ready?')).toBe('ready?');
      expect(await accepted).toMatchObject({
        remoteAddress: '127.0.0.1',
        remotePort: client.socket.localPort,
      });
    },
  );

  test('a PROXY header with addresses is written as given: the server names the client it describes', async () => {
    const server = await proxiedServer();
    const accepted = waitForEvent(server.server, 'connection') as Promise<ConnectionInfo>;
    const header = encodeProxyHeaderV2({
      source: { address: '203.0.113.7', port: 4242 },
      destination: { address: '127.0.0.1', port: server.port },
    });
    const client = await open({ host: '127.0.0.1', port: server.port, tls: server.tls, proxyHeader: header });
    expect(await echo(client, 'hi')).toBe('hi');
    expect(await accepted).toMatchObject({ remoteAddress: '203.0.113.7', remotePort: 4242 });
  });

  test('without the header the server refuses, and the client says the handshake was cut off', async () => {
    const server = await proxiedServer();
    const refused = waitForEvent(server.server, 'proxyError') as Promise<ProxyHeaderFailure>;
    const attempt = connectFramed({ host: '127.0.0.1', port: server.port, tls: server.tls });
    await expect(attempt).rejects.toThrow(TlsFailureError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_RESET',
      hint: expect.stringContaining('--proxy-header'),
    });
    expect((await refused).error.code).toBe('ERR_PROXY_HEADER_MISSING');
  });

  test('the header is the first thing on the wire, then the ClientHello', async () => {
    const recorder = await startRecordingServer();
    const attempt = connectFramed({
      host: '127.0.0.1',
      port: recorder.port,
      proxyHeader: localProxyHeader('v2'),
      connectTimeoutMs: 150,
    });
    const received = recorder.received();
    await expect(attempt).rejects.toThrow(TimeoutError);
    const bytes = await received;
    expect(bytes.subarray(0, 16)).toEqual(encodeProxyHeaderV2());
    expect(bytes[16]).toBe(0x16); // a TLS handshake record
  });

  test('the connect timeout covers the header and the handshake', async () => {
    const recorder = await startRecordingServer();
    const started = performance.now();
    const attempt = connectFramed({
      host: '127.0.0.1',
      port: recorder.port,
      proxyHeader: localProxyHeader('v1'),
      connectTimeoutMs: 200,
    });
    await expect(attempt).rejects.toThrow(TimeoutError);
    await expect(attempt).rejects.toThrow(`no TLS handshake from 127.0.0.1:${recorder.port} within 200ms`);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('a port nobody listens on is a refused connection, as without a header', async () => {
    const port = await unusedPort();
    const attempt = connectFramed({ host: '127.0.0.1', port, proxyHeader: localProxyHeader('v2') });
    await expect(attempt).rejects.toThrow(ConnectionError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_CONNECTION_REFUSED' });
  });

  test('TLS settings that cannot work fail before any connection is made', async () => {
    const recorder = await startRecordingServer();
    const attempt = connectFramed({
      host: '127.0.0.1',
      port: recorder.port,
      tls: { cert: 'not a certificate', key: 'not a key' },
      proxyHeader: localProxyHeader('v2'),
    });
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_TLS_SETTINGS' });
    // Had it connected, the accept would have been seen by now: the failure came after a full round trip.
    await connectFramed({ host: '127.0.0.1', port: recorder.port, connectTimeoutMs: 50 }).catch(() => {});
    expect(recorder.connections()).toBe(1);
  });

  test('aborting while the handshake is awaited fails the attempt and closes the socket', async () => {
    const recorder = await startRecordingServer();
    const controller = new AbortController();
    const attempt = connectFramed({
      host: '127.0.0.1',
      port: recorder.port,
      proxyHeader: localProxyHeader('v2'),
      signal: controller.signal,
    });
    await recorder.firstBytes();
    const received = recorder.received(); // resolves once the client has closed
    controller.abort();
    await expect(attempt).rejects.toThrow(InterruptedError);
    expect((await received).subarray(0, 16)).toEqual(encodeProxyHeaderV2());
  });

  test('a reset after the handshake ends the session with a typed error, never an uncaught one', async () => {
    // A balancer-facing server that resets the TCP connection at the first frame.
    const { ca, server: certificate } = await testPki();
    const tlsServer = createTlsServer({ cert: certificate.certPem, key: certificate.keyPem }, (tls) => {
      tls.once('data', () => (tls as unknown as { _parent: Socket })._parent.resetAndDestroy());
    });
    const front = createTcpServer((raw) => {
      raw.on('error', () => {});
      // A header the front cannot read closes the connection: the client's open() then fails at once
      // instead of waiting out the test's timeout behind an unhandled rejection.
      readProxyHeader(raw).then(
        () => tlsServer.emit('connection', raw),
        () => raw.destroy(),
      );
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    onTestFinished(() => void front.close());
    const client = await open({
      host: '127.0.0.1',
      port: (front.address() as AddressInfo).port,
      tls: { ca: [ca.certPem], servername: 'localhost' },
      proxyHeader: localProxyHeader('v2'),
    });
    await client.send(Buffer.from('boom'));
    const outcome = await (async () => {
      try {
        for await (const frame of client) return frame;
        return 'ended';
      } catch (error) {
        return error;
      }
    })();
    expect(outcome).toBeInstanceOf(ConnectionError);
    expect(outcome).toMatchObject({ code: 'ERR_CONNECTION_RESET' });
  });
});
