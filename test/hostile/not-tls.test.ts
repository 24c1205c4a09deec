// Clients that do not speak TLS, or speak a version we refuse: each is refused and logged, the server
// stays up, and honest clients do not notice.
import { execFile } from 'node:child_process';
import { needs } from '../helpers/system-tools.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { legacyClientHello, sslv2ClientHello } from './helpers/client-hello.js';
import { connectTcp, honestExchange, ms, report, timeToClose } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const withOpenssl = needs('openssl');

const HANDSHAKE_TIMEOUT_MS = 2000;
// Refused on the first record: a round trip, not a timeout.
const AT_ONCE_MS = 1000;

let pki: HostilePki;
let server: ServerProcess;
beforeAll(async () => {
  pki = await createPki();
  server = await startServerProcess(pki, ['--handshake-timeout', `${HANDSHAKE_TIMEOUT_MS}ms`]);
});
afterAll(async () => {
  server?.kill();
  await pki?.remove();
});

const PROTOCOL_VERSION = 70;
const HANDSHAKE_FAILURE = 40;

// The description of a fatal TLS alert record (RFC 8446 §6), or undefined if `bytes` is not one.
function fatalAlert(bytes: Buffer): number | undefined {
  return bytes.length >= 7 && bytes[0] === 0x15 && bytes[5] === 2 ? bytes[6] : undefined;
}

interface Refusal {
  closeMs: number;
  received: Buffer;
  kind: unknown;
  msg: string;
}

async function sendAndWatch(bytes: Buffer): Promise<Refusal> {
  const socket = await connectTcp(server.port);
  const localPort = socket.localPort;
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {}); // a reset is one way to be refused
  const sentAt = performance.now();
  socket.write(bytes);
  const closeMs = await timeToClose(socket, sentAt, HANDSHAKE_TIMEOUT_MS + 3000);
  const logged = await server.waitFor(isEvent('handshake-failed', { remotePort: localPort }), 2000);
  return { closeMs, received: Buffer.concat(chunks), kind: logged.kind, msg: logged.msg };
}

test.each([
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), 'not-tls', undefined],
  ['an HTTP proxy CONNECT', Buffer.from('CONNECT localhost:443 HTTP/1.1\r\n\r\n'), 'not-tls', undefined],
  ['an SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'not-tls', undefined],
  // OpenSSL answers an SSLv3 hello with a generic handshake_failure alert, newer ones with protocol_version.
  ['an SSLv3 ClientHello', legacyClientHello(0x0300), 'unsupported-version', HANDSHAKE_FAILURE],
  ['a TLS 1.0 ClientHello', legacyClientHello(0x0301), 'unsupported-version', PROTOCOL_VERSION],
  ['a TLS 1.1 ClientHello', legacyClientHello(0x0302), 'unsupported-version', PROTOCOL_VERSION],
  ['an SSLv2-format ClientHello', sslv2ClientHello(), 'unsupported-version', PROTOCOL_VERSION],
])('%s is refused at once and logged', async (what, bytes, kind, alert) => {
  const refusal = await sendAndWatch(bytes);
  expect(refusal.kind).toBe(kind);
  expect(refusal.closeMs).toBeLessThan(AT_ONCE_MS);
  if (kind === 'unsupported-version') {
    // The client is told, in TLS's own words, before the close.
    expect(fatalAlert(refusal.received)).toBe(alert);
    expect(refusal.msg).toContain('the client offered no TLS version the server accepts');
  } else {
    expect(refusal.msg).toContain('the client sent something that is not TLS');
  }
  expect(server.alive()).toBe(true);
  report(`not TLS: ${what}`, { kind: String(refusal.kind), closeMs: ms(refusal.closeMs) });
});

test('random bytes are refused (at once, or at the handshake timeout if they look like a record) and logged', async () => {
  const results: string[] = [];
  for (let round = 0; round < 20; round += 1) {
    const bytes = randomBytes(1 + ((round * 397) % 4096));
    const refusal = await sendAndWatch(bytes);
    results.push(String(refusal.kind));
    expect(['not-tls', 'unsupported-version', 'handshake-timeout', 'failed']).toContain(refusal.kind);
    const limit = refusal.kind === 'handshake-timeout' ? HANDSHAKE_TIMEOUT_MS + 1500 : AT_ONCE_MS;
    expect(refusal.closeMs, `round ${round}: ${bytes.subarray(0, 8).toString('hex')}…`).toBeLessThan(limit);
  }
  expect(server.alive()).toBe(true);
  report('not TLS: random bytes', { rounds: 20, kinds: [...new Set(results)].join('/') });
});

withOpenssl.test.for([
  ['-tls1', 'TLS 1.0'],
  ['-tls1_1', 'TLS 1.1'],
] as const)('openssl s_client %s (%s) is refused with a protocol_version alert', async ([flag], context) => {
  const before = server.count(isEvent('handshake-failed', { kind: 'unsupported-version' }));
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, flag, '-cipher', 'DEFAULT@SECLEVEL=0'],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : null, output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end();
  });
  // A local OpenSSL built without the old versions refuses before connecting: nothing to test then.
  if (/no protocols available|unknown option|Option unknown/i.test(result.output)) {
    context.skip(`the local openssl will not send ${flag}`);
  }
  expect(result.code).not.toBe(0);
  expect(result.output).toMatch(/alert protocol version/i);
  await server.waitForCount(isEvent('handshake-failed', { kind: 'unsupported-version' }), before + 1, 2000);
});

test('after all of that the server still serves an honest client at once', async () => {
  const exchangeMs = await honestExchange(server.port, pki);
  expect(exchangeMs).toBeLessThan(2000);
  expect(server.alive()).toBe(true);
  expect(server.count((event) => event.level === 'error' || event.level === 'raw')).toBe(0);
  report('not TLS: honest client afterwards', {
    exchangeMs: ms(exchangeMs),
    handshakeFailuresLogged: server.count(isEvent('handshake-failed')),
  });
});
