import { describe, expect, onTestFinished, test } from 'vitest';
import { connectFramed } from '../../src/client/dial.js';
import { ConnectionError, TimeoutError, TlsFailureError } from '../../src/errors.js';
import type { ClientTlsSettings } from '../../src/tls/options.js';
import { startSilentTcpServer, startTestServer, unusedPort } from './helpers/framed-server.js';
import { collectAll, open, take } from './helpers/framed-client.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

// Opening a connection: TCP, the TLS handshake, verification of the server, and the typed refusals.

describe('connectFramed', () => {
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
