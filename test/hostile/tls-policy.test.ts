// The server's TLS policy as a client meets it: the findings testssl.sh looks for (see docs/security.md and
// scripts/testssl.sh), checked in seconds on every run.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectTcp, connectTls, frame, FrameReader, timeToClose } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, startServerProcess, type ServerProcess } from './helpers/server-process.js';

let pki: HostilePki;
let server: ServerProcess;
beforeAll(async () => {
  pki = await createPki();
  server = await startServerProcess(pki, []);
});
afterAll(async () => {
  server?.kill();
  await pki?.remove();
});

test.each([
  ['TLSv1.3', 'TLS_AES_256_GCM_SHA384'],
  ['TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256'],
  ['TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLSv1.2', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
] as const)('a %s client offering only %s is served', async (version, cipher) => {
  const tls13 = version === 'TLSv1.3';
  const socket = await connectTls(server.port, pki, {
    minVersion: version,
    maxVersion: version,
    ...(tls13 ? {} : { ciphers: cipher }),
  });
  const reader = new FrameReader(socket);
  socket.write(frame('hello'));
  expect((await reader.until(1)).map(String)).toEqual(['hello']);
  expect(socket.getProtocol()).toBe(version);
  if (!tls13) expect(socket.getCipher().standardName).toMatch(/ECDHE_ECDSA_WITH_(AES_128_GCM|CHACHA20)/);
  socket.destroy();
});

test.each([
  ['CBC (LUCKY13)', 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384'],
  ['CCM-8 (short tags)', 'ECDHE-ECDSA-AES128-CCM8'],
  ['ARIA', 'ECDHE-ECDSA-ARIA128-GCM-SHA256'],
  ['anonymous', 'aNULL:@SECLEVEL=0'],
])('a TLS 1.2 client offering only %s suites is refused', async (_what, ciphers) => {
  const before = server.count(isEvent('handshake-failed'));
  const attempt = connectTls(server.port, pki, { maxVersion: 'TLSv1.2', ciphers });
  await expect(attempt).rejects.toThrow(/handshake failure|no shared cipher|no cipher/i);
  await server.waitForCount(isEvent('handshake-failed'), before + 1, 2000);
});

test('a TLS 1.2 client asking to renegotiate is refused; the server goes on', async () => {
  const socket = await connectTls(server.port, pki, { maxVersion: 'TLSv1.2' });
  const remotePort = socket.localPort;
  const outcome = new Promise<string>((resolve) => {
    socket.once('secure', () => resolve('renegotiated'));
    socket.once('error', (error) => resolve(error.message));
  });
  expect(socket.renegotiate({}, () => {})).toBe(true);
  // The server answers with a no_renegotiation alert, which ends the connection on OpenSSL clients.
  expect(await outcome).toMatch(/no renegotiation/);
  await server.waitFor(isEvent('closed', { remotePort }), 2000);
  const again = await connectTls(server.port, pki, { maxVersion: 'TLSv1.2' });
  const reader = new FrameReader(again);
  again.write(frame('still serving'));
  expect((await reader.until(1)).map(String)).toEqual(['still serving']);
  again.destroy();
});

test('a corrupt record after the handshake closes that connection at once, logged in plain words', async () => {
  const raw = await connectTcp(server.port);
  const socket = await connectTls(server.port, pki, { socket: raw });
  const remotePort = socket.localPort;
  socket.on('error', () => {});
  await server.waitFor(isEvent('accepted', { remotePort }), 2000);
  const sentAt = performance.now();
  // Application data that the session key did not seal: the record's authentication fails.
  raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 7)]));
  const closed = await server.waitFor(isEvent('closed', { remotePort }), 2000);
  const closeMs = await timeToClose(raw, sentAt, 2000);
  expect(closed.reason).toBe('error');
  expect(closed.msg).toContain('error: TLS session failed: decryption failed or bad record mac;');
  expect(closeMs).toBeLessThan(1000);
});
