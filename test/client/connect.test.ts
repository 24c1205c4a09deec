import { describe, expect, onTestFinished, test } from 'vitest';
import { connectFramed, type ConnectFramedOptions, type FramedClient } from '../../src/client/connect.js';
import {
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  TimeoutError,
  TlsFailureError,
} from '../../src/errors.js';
import type { ClientTlsSettings } from '../../src/tls/options.js';
import {
  frame,
  startSilentTcpServer,
  startTestServer,
  unusedPort,
  type TestPacket,
} from './helpers/framed-server.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

async function open(options: ConnectFramedOptions): Promise<FramedClient> {
  const client = await connectFramed(options);
  onTestFinished(() => client.destroy());
  return client;
}

async function take(client: FramedClient, count: number): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  if (count === 0) return frames;
  for await (const received of client) {
    frames.push(Buffer.from(received));
    if (frames.length === count) break;
  }
  return frames;
}

async function collectAll(client: FramedClient): Promise<{ frames: Buffer[]; error: unknown }> {
  const frames: Buffer[] = [];
  try {
    for await (const received of client) frames.push(Buffer.from(received));
    return { frames, error: undefined };
  } catch (error) {
    return { frames, error };
  }
}

const PAYLOADS: Buffer[] = [
  Buffer.from('hello'),
  Buffer.alloc(0),
  Buffer.from([0x61, 0x00, 0x62]),
  Buffer.from([0xff, 0xfe, 0xc3]),
  Buffer.from('héllo wörld'),
];

describe('connectFramed', () => {
  test.each<TestPacket>([1, 2, 4])(
    'echoes frames with {packet, %s}: empty, NUL and invalid UTF-8 included',
    async (packet) => {
      const pki = await makeTestPki();
      const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, packet });
      const client = await open({ host: '127.0.0.1', port: server.port, packet, tls: { ca: [pki.caPem] } });
      for (const payload of PAYLOADS) await client.send(payload);
      expect(await take(client, PAYLOADS.length)).toEqual(PAYLOADS);
      expect(client.counters).toMatchObject({ framesSent: PAYLOADS.length, framesReceived: PAYLOADS.length });
    },
  );

  test('echoes lines in line mode, empty lines included', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 'line',
    });
    const client = await open({
      host: '127.0.0.1',
      port: server.port,
      packet: 'line',
      tls: { ca: [pki.caPem] },
    });
    const lines = ['one', '', 'three\r', 'nul\0inside'].map((text) => Buffer.from(text));
    for (const line of lines) await client.send(line);
    expect(await take(client, lines.length)).toEqual(lines);
  });

  test('reports TLS version, cipher, subject and fingerprint of a verified server, with timings', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
    const client = await open({ host: 'localhost', port: server.port, tls: { ca: [pki.caPem] } });
    expect(client.peer).toMatchObject({
      protocol: 'TLSv1.3',
      subject: 'localhost',
      fingerprint: pki.server.fingerprint,
      verified: true,
    });
    expect(client.target).toBe(`localhost:${server.port}`);
    expect(client.timings.connectMs).toBeGreaterThanOrEqual(0);
    expect(client.timings.handshakeMs).toBeGreaterThan(0);
  });

  test('connects to an IPv6 address and names it in brackets', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, host: '::1' });
    const client = await open({ host: '::1', port: server.port, tls: { ca: [pki.caPem] } });
    expect(client.target).toBe(`[::1]:${server.port}`);
    await client.send(Buffer.from('v6'));
    expect(await take(client, 1)).toEqual([Buffer.from('v6')]);
  });

  test('refuses an oversized payload before writing it and keeps the connection usable', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, packet: 1 });
    const client = await open({ host: '127.0.0.1', port: server.port, packet: 1, tls: { ca: [pki.caPem] } });
    expect(() => client.write(Buffer.alloc(256))).toThrow(FrameTooLargeError);
    await client.send(Buffer.from('still here'));
    expect(await take(client, 1)).toEqual([Buffer.from('still here')]);
    const peer = await server.nextPeer();
    expect(peer.received).toEqual([Buffer.from('still here')]);
  });

  test('ends the iteration when the server closes, and says so', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onFrame: (payload, peer) => {
        peer.reply(payload);
        peer.socket.end();
      },
    });
    const client = await open({ host: '127.0.0.1', port: server.port, tls: { ca: [pki.caPem] } });
    await client.send(Buffer.from('bye'));
    expect(await collectAll(client)).toEqual({ frames: [Buffer.from('bye')], error: undefined });
    expect(client.closedByPeer).toBe(true);
    await expect(client.send(Buffer.from('more'))).rejects.toThrow(/closed the connection/);
  });

  test('delivers every complete frame before failing on a header that declares too much', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 2,
      onConnection: (peer) =>
        peer.socket.write(Buffer.concat([frame(2, 'one'), frame(2, 'two'), Buffer.from([0xff, 0xff, 0x00])])),
    });
    const client = await open({
      host: '127.0.0.1',
      port: server.port,
      packet: 2,
      maxFrame: 1000,
      tls: { ca: [pki.caPem] },
    });
    const { frames, error } = await collectAll(client);
    expect(frames).toEqual([Buffer.from('one'), Buffer.from('two')]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toBe(
      `bad frame from 127.0.0.1:${server.port}: peer declared a 65535-byte frame, above the 1000-byte maximum`,
    );
  });

  test('fails with a truncation error when the server closes inside a frame', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onConnection: (peer) =>
        peer.socket.end(Buffer.concat([frame(4, 'whole'), frame(4, 'cut short').subarray(0, 7)])),
    });
    const client = await open({ host: '127.0.0.1', port: server.port, tls: { ca: [pki.caPem] } });
    const { frames, error } = await collectAll(client);
    expect(frames).toEqual([Buffer.from('whole')]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('ERR_FRAME_TRUNCATED');
    expect((error as ProtocolError).message).toMatch(/6 of 9 bytes missing/);
  });
});

describe('connectFramed verification', () => {
  type Case = {
    name: string;
    server: (pki: TestPki) => { certPem: string; keyPem: string };
    tls: (pki: TestPki) => ClientTlsSettings;
    host?: string;
    refusal?: RegExp;
  };
  const cases: Case[] = [
    {
      name: 'accepts a certificate issued by a --ca',
      server: (p) => p.server,
      tls: (p) => ({ ca: [p.caPem] }),
    },
    {
      name: 'accepts a pinned self-signed certificate',
      server: (p) => p.selfSigned,
      tls: (p) => ({ pin: p.selfSigned.fingerprint }),
    },
    { name: 'accepts anything with insecure', server: (p) => p.selfSigned, tls: () => ({ insecure: true }) },
    {
      name: 'refuses a self-signed certificate without --ca, --pin or --insecure',
      server: (p) => p.selfSigned,
      tls: () => ({}),
      refusal: /^certificate of 127\.0\.0\.1:\d+ is self-signed and not trusted \(sha256:[0-9a-f]{64}\)$/,
    },
    {
      name: 'refuses a certificate from an unknown CA',
      server: (p) => p.server,
      tls: () => ({}),
      refusal: /issued by an untrusted CA/,
    },
    {
      name: 'refuses a wrong pin and shows the fingerprint it saw',
      server: (p) => p.server,
      tls: () => ({ pin: `sha256:${'0'.repeat(64)}` }),
      refusal: /does not match the pin: saw sha256:[0-9a-f]{64}$/,
    },
    {
      name: 'refuses an expired certificate',
      server: (p) => p.expired,
      tls: (p) => ({ ca: [p.caPem] }),
      refusal: /^certificate of 127\.0\.0\.1:\d+ expired on .+ \(sha256:[0-9a-f]{64}\)$/,
    },
    {
      name: 'refuses a certificate that does not cover the host name',
      server: (p) => p.server,
      tls: (p) => ({ ca: [p.caPem], servername: 'example.com' }),
      refusal: /does not cover the host name example\.com \(it covers DNS:localhost/,
    },
  ];

  test.each(cases)('$name', async ({ server: pick, tls, refusal }) => {
    const pki = await makeTestPki();
    const identity = pick(pki);
    const server = await startTestServer({ cert: identity.certPem, key: identity.keyPem });
    const attempt = connectFramed({ host: '127.0.0.1', port: server.port, tls: tls(pki) });
    if (!refusal) {
      const client = await attempt;
      onTestFinished(() => client.destroy());
      await client.send(Buffer.from('ping'));
      expect(await take(client, 1)).toEqual([Buffer.from('ping')]);
      return;
    }
    const error = await attempt.then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(TlsFailureError);
    expect((error as Error).message).toMatch(refusal);
    // Nothing was sent to the server we refused.
    for (const peer of server.peers) expect(peer.received).toEqual([]);
  });

  test('refused pin message carries the fingerprint actually served', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
    await expect(
      connectFramed({ host: '127.0.0.1', port: server.port, tls: { pin: pki.selfSigned.fingerprint } }),
    ).rejects.toThrow(`saw ${pki.server.fingerprint}`);
  });

  test('presents a client certificate to a server that requires one', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      clientCa: pki.caPem,
    });
    const client = await open({
      host: '127.0.0.1',
      port: server.port,
      tls: { ca: [pki.caPem], cert: pki.client.certPem, key: pki.client.keyPem },
    });
    await client.send(Buffer.from('mutual'));
    expect(await take(client, 1)).toEqual([Buffer.from('mutual')]);
    const peer = await server.nextPeer();
    expect(peer.socket.authorized).toBe(true);
    expect(peer.socket.getPeerCertificate().subject.CN).toBe('test client');
  });

  test('fails with a TLS error when the server requires a client certificate and none is given', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      clientCa: pki.caPem,
    });
    // With TLS 1.3 the server's refusal arrives after the client considers the handshake done.
    const result = await connectFramed({
      host: '127.0.0.1',
      port: server.port,
      tls: { ca: [pki.caPem] },
    }).then(
      async (client) => (await collectAll(client)).error,
      (error: unknown) => error,
    );
    expect(result).toBeInstanceOf(TlsFailureError);
    expect((result as Error).message).toMatch(/requires a client certificate|handshake/);
  });
});

describe('connectFramed failures', () => {
  test('a refused connection is a ConnectionError naming the address', async () => {
    const port = await unusedPort();
    const error = await connectFramed({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toBe(`connection refused by 127.0.0.1:${port}`);
  });

  test('a server that never completes the handshake times out', async () => {
    const { port } = await startSilentTcpServer();
    const error = await connectFramed({ host: '127.0.0.1', port, connectTimeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe(`no TLS handshake from 127.0.0.1:${port} within 200ms`);
  });

  test('aborting the signal fails the attempt with its reason', async () => {
    const { port } = await startSilentTcpServer();
    const controller = new AbortController();
    const attempt = connectFramed({ host: '127.0.0.1', port, signal: controller.signal });
    controller.abort(new TimeoutError('deadline'));
    await expect(attempt).rejects.toThrow('deadline');
  });
});
