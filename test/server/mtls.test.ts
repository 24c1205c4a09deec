import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { makeTempDir } from '../helpers/tmpdir.js';
import { frame, ReplyReader, testPki, texts } from './helpers/fixture.js';
import { serveInProcess } from './helpers/serve-in-process.js';

async function pkiFiles(): Promise<{ dir: string; pki: Awaited<ReturnType<typeof testPki>> }> {
  const pki = await testPki();
  const dir = await makeTempDir();
  await Promise.all([
    writeFile(join(dir, 'server.crt'), pki.server.certPem),
    writeFile(join(dir, 'server.key'), pki.server.keyPem, { mode: 0o600 }),
    writeFile(join(dir, 'ca.crt'), pki.ca.certPem),
    writeFile(
      join(dir, 'identity.mjs'),
      'export default (message, context) => `${context.client?.commonName} says ${message}`;\n',
    ),
  ]);
  return { dir, pki };
}

function connectWith(port: number, ca: string, identity?: { certPem: string; keyPem: string }) {
  const socket = connect({
    host: '127.0.0.1',
    port,
    ca,
    servername: 'localhost',
    ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
  });
  onTestFinished(() => {
    socket.destroy();
  });
  socket.on('error', () => {});
  return socket;
}

describe('mutual TLS (--client-ca)', () => {
  test('a client certificate issued by the CA is accepted; its identity is logged and reaches the handler', async () => {
    const { dir, pki } = await pkiFiles();
    const run = await serveInProcess(
      { cert: 'server.crt', key: 'server.key', clientCa: 'ca.crt', handler: './identity.mjs' },
      dir,
    );
    const socket = connectWith(run.port, pki.ca.certPem, pki.client);
    await once(socket, 'secureConnect');
    const reader = new ReplyReader(socket);
    socket.write(frame('hi'));
    expect(texts(await reader.until(1))).toEqual(['alice says hi']);
    const accepted = await run.waitForLog(/accepted/);
    expect(accepted).toContain(`client CN=alice ${pki.client.fingerprint}`);
    expect(run.io.errors()).toMatch(
      /listening on 127\.0\.0\.1:\d+ \(packet 4, \.\/identity\.mjs, client certificates required\)/,
    );
  });

  test.each([
    ['no certificate', undefined, /the client sent no certificate/],
    [
      'a certificate from a foreign CA',
      'foreign',
      /the client certificate was refused: not issued by the --client-ca, or not valid \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    ],
  ] as const)('a client with %s is refused and the refusal logged', async (_name, which, logged) => {
    const { dir, pki } = await pkiFiles();
    const run = await serveInProcess({ cert: 'server.crt', key: 'server.key', clientCa: 'ca.crt' }, dir);
    const socket = connectWith(run.port, pki.ca.certPem, which === 'foreign' ? pki.foreignClient : undefined);
    const reader = new ReplyReader(socket);
    // With TLS 1.3 the client may finish its side of the handshake before the server refuses; whatever it
    // sends gets no reply and the connection ends.
    socket.write(frame('let me in'));
    expect(await reader.end()).toEqual([]);
    const line = await run.waitForLog(/handshake with 127\.0\.0\.1:\d+ failed/);
    expect(line).toMatch(logged);
    expect(run.io.errors()).not.toMatch(/accepted/);
  });
});
