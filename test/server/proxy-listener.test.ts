import { SERVER_FULL_ALERT } from '../../src/server/admission.js';
import { once } from 'node:events';
import net from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { ProtocolError, TimeoutError } from '../../src/errors.js';
import type { ConnectionInfo } from '../../src/server/connection.js';
import type { ProxyHeaderFailure, ProxyHealthCheck } from '../../src/server/proxy-listener.js';
import type { RefusedConnection } from '../../src/server/server.js';
import { frame, ReplyReader, startServer, testPki, waitForEvent } from './helpers/fixture.js';

// createServer({ proxyProtocol: true }) end to end: a raw TCP client plays the load balancer (header
// first), then speaks TLS with verification on, as HAProxy's send-proxy passes a client's bytes through.

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V2_LOCAL = Buffer.concat([SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);

function v2Tcp6(source: string, sourcePort: number): Buffer {
  const address = (text: string) => {
    const groups = new net.SocketAddress({ address: text, family: 'ipv6' }).address;
    const full = groups.includes('::') ? expandIPv6(groups) : groups;
    return Buffer.from(
      full
        .split(':')
        .map((group) => group.padStart(4, '0'))
        .join(''),
      'hex',
    );
  };
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(7000, 2);
  const body = Buffer.concat([address(source), address('::1'), ports]);
  return Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x21, 0x00, body.length]), body]);
}

function expandIPv6(text: string): string {
  const [head, tail] = text.split('::') as [string, string];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right].join(':');
}

/** The handler answers every message with the peer it was given, so the tests see what a handler sees. */
const whoAmI = (_message: Buffer, context: { remoteAddress: string; remotePort: number }) =>
  Buffer.from(`${context.remoteAddress} ${context.remotePort}`);

/** Connects like a balancer: the header in its own write, then TLS over the same socket. */
async function connectProxied(
  port: number,
  header: Buffer | string,
): Promise<{ raw: net.Socket; tls: TLSSocket }> {
  const { ca } = await testPki();
  const raw = net.connect(port, '127.0.0.1');
  onTestFinished(() => void raw.destroy());
  await once(raw, 'connect');
  await new Promise((resolve) => raw.write(header, resolve));
  const tls = tlsConnect({ socket: raw, ca: ca.certPem, servername: 'localhost' });
  onTestFinished(() => void tls.destroy());
  await once(tls, 'secureConnect');
  return { raw, tls };
}

async function ask(tls: TLSSocket): Promise<string> {
  const reader = new ReplyReader(tls);
  tls.write(frame('who am i?'));
  const [reply] = await reader.until(1);
  return reply!.toString();
}

describe('createServer with proxyProtocol', () => {
  test('a v1 header: the handler, the accepted event and the closed summary all name the original client', async () => {
    const running = await startServer({ proxyProtocol: true, handler: whoAmI });
    const accepted = waitForEvent(running.server, 'connection') as Promise<ConnectionInfo>;
    const { tls } = await connectProxied(running.port, 'PROXY TCP4 203.0.113.7 192.0.2.1 4242 7000\r\n');
    expect(await ask(tls)).toBe('203.0.113.7 4242');
    expect(await accepted).toMatchObject({ remoteAddress: '203.0.113.7', remotePort: 4242 });
    const closed = running.nextClose();
    tls.end();
    expect(await closed).toMatchObject({
      remoteAddress: '203.0.113.7',
      remotePort: 4242,
      reason: 'client-closed',
    });
  });

  test('a v2 header for an IPv6 client', async () => {
    const running = await startServer({ proxyProtocol: true, handler: whoAmI });
    const { tls } = await connectProxied(running.port, v2Tcp6('2001:db8::7', 51000));
    expect(await ask(tls)).toBe('2001:db8::7 51000');
  });

  test('the echo fast path works behind the header too', async () => {
    const running = await startServer({ proxyProtocol: true });
    const { tls } = await connectProxied(running.port, 'PROXY TCP4 198.51.100.1 192.0.2.1 1 7000\r\n');
    const reader = new ReplyReader(tls);
    tls.write(Buffer.concat([frame('one'), frame('two')]));
    expect((await reader.until(2)).map(String)).toEqual(['one', 'two']);
  });

  test('a LOCAL header followed by TLS (a TLS health check) uses the real socket address', async () => {
    const running = await startServer({ proxyProtocol: true, handler: whoAmI });
    const { raw, tls } = await connectProxied(running.port, V2_LOCAL);
    expect(await ask(tls)).toBe(`127.0.0.1 ${raw.localPort}`);
  });

  test('a LOCAL header and a close (a TCP health check) is a healthCheck event, not a failed handshake', async () => {
    const running = await startServer({ proxyProtocol: true });
    const check = waitForEvent(running.server, 'healthCheck') as Promise<ProxyHealthCheck>;
    const raw = net.connect(running.port, '127.0.0.1');
    await once(raw, 'connect');
    const localPort = raw.localPort;
    raw.end(V2_LOCAL);
    expect(await check).toEqual({ remoteAddress: '127.0.0.1', remotePort: localPort });
    expect(running.tlsErrors).toEqual([]);
  });

  test('a client that skips the balancer and speaks TLS at once is refused with a proxyError', async () => {
    const running = await startServer({ proxyProtocol: true });
    const refused = waitForEvent(running.server, 'proxyError') as Promise<ProxyHeaderFailure>;
    const { ca } = await testPki();
    const client = tlsConnect({
      port: running.port,
      host: '127.0.0.1',
      ca: ca.certPem,
      servername: 'localhost',
    });
    onTestFinished(() => void client.destroy());
    const clientError = once(client, 'error') as Promise<[NodeJS.ErrnoException]>;
    const failure = await refused;
    expect(failure.remoteAddress).toBe('127.0.0.1');
    expect(failure.error).toBeInstanceOf(ProtocolError);
    expect(failure.error.code).toBe('ERR_PROXY_HEADER_MISSING');
    const [error] = await clientError;
    expect(error.code).toBe('ECONNRESET');
    expect(running.server.stats).toMatchObject({ accepted: 0, handshakeFailures: 1 });
  });

  test('a connection that sends no header within the handshake timeout is refused with a TimeoutError', async () => {
    const running = await startServer({ proxyProtocol: true, handshakeTimeoutMs: 150 });
    const refused = waitForEvent(running.server, 'proxyError') as Promise<ProxyHeaderFailure>;
    const raw = net.connect(running.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    const failure = await refused;
    expect(failure.error).toBeInstanceOf(TimeoutError);
    expect(failure.error.message).toBe('no PROXY protocol header within 150ms');
    await once(raw, 'close');
  });

  test('a failed handshake after a valid header is logged with the original client', async () => {
    const running = await startServer({ proxyProtocol: true });
    const raw = net.connect(running.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    raw.write('PROXY TCP4 203.0.113.9 192.0.2.1 5555 7000\r\n');
    raw.write('GET / HTTP/1.1\r\n\r\n');
    const failure = await waitForEvent(running.server, 'tlsError');
    expect(failure).toMatchObject({ kind: 'not-tls', remoteAddress: '203.0.113.9', remotePort: 5555 });
  });

  test('maxConnections counts proxied connections and refuses the one over', async () => {
    const running = await startServer({ proxyProtocol: true, maxConnections: 1, handler: whoAmI });
    const { tls } = await connectProxied(running.port, 'PROXY TCP4 203.0.113.1 192.0.2.1 1000 7000\r\n');
    expect(await ask(tls)).toBe('203.0.113.1 1000');
    const refused = waitForEvent(running.server, 'refused') as Promise<RefusedConnection>;
    const second = net.connect(running.port, '127.0.0.1');
    second.on('error', () => {});
    onTestFinished(() => void second.destroy());
    const answer: Buffer[] = [];
    second.on('data', (chunk: Buffer) => answer.push(chunk));
    expect((await refused).remoteAddress).toBe('127.0.0.1');
    await once(second, 'close');
    // Refused before its PROXY header is read, with the alert a TLS client reports as a refusal.
    expect(Buffer.concat(answer)).toEqual(SERVER_FULL_ALERT);
    expect(await ask(tls)).toBe('203.0.113.1 1000');
  });

  test('close() drains a proxied exchange and does not wait for a connection still silent before its header', async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    // A handler still working on a message when close() comes: that exchange must finish.
    const slow = async (message: Buffer, context: { remoteAddress: string; remotePort: number }) => {
      started();
      await new Promise<void>((resolve) => (release = resolve));
      return whoAmI(message, context);
    };
    const running = await startServer({ proxyProtocol: true, handler: slow });
    const proxyErrors: unknown[] = [];
    running.server.on('proxyError', (failure) => proxyErrors.push(failure));
    const { tls } = await connectProxied(running.port, 'PROXY TCP4 203.0.113.2 192.0.2.1 2000 7000\r\n');
    const silent = net.connect(running.port, '127.0.0.1');
    onTestFinished(() => void silent.destroy());
    const silentClosed = once(silent, 'close');
    await once(silent, 'connect');
    const reader = new ReplyReader(tls);
    tls.write(frame('still answered?'));
    await handlerStarted;
    const closing = running.server.close(5000);
    release();
    expect((await reader.until(1)).map(String)).toEqual(['203.0.113.2 2000']);
    await closing;
    await silentClosed;
    expect(running.server.address()).toBeNull();
    // Closing the silent connection was the server's doing, not a client without a header.
    expect(proxyErrors).toEqual([]);
  });
});
