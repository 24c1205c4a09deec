import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { fingerprintOfDer } from '../../src/certs/fingerprint.js';
import { makeTestPki } from '../client/helpers/pki.js';
import { startServeChild, startServeWithPki } from '../client/helpers/serve-child.js';
import { runCli } from '../helpers/run-cli.js';

// What `openssl s_client -showcerts` tells, from tlsecho: the server's chain, the negotiated protocol,
// cipher and ALPN, and the flags to test a server with an older or narrower client. Real `tlsecho serve`
// children with a CA → leaf chain, real `tlsecho send`/`connect` children, verification on.

async function serverWithChain(extra: string[] = []) {
  const pki = await makeTestPki();
  const server = await startServeWithPki(pki, [...extra]);
  const ca = new X509Certificate(await readFile(pki.caFile));
  return { pki, server, caFingerprint: fingerprintOfDer(ca.raw) };
}

const iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.source;

describe('-v shows the peer like s_client -showcerts', () => {
  test('send -v: protocol, cipher, ALPN, then leaf and CA with subject, issuer, names, validity, fingerprint', async () => {
    const { pki, server, caFingerprint } = await serverWithChain(['--alpn', 'x-one']);
    const target = `127.0.0.1:${server.port}`;
    const r = await runCli(['send', target, '--ca', pki.caFile, '--alpn', 'x-one', '-v', 'hi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi\n');
    const lines = r.stderr.split('\n');
    const start = lines.findIndex((line) => line.startsWith('negotiated '));
    expect(lines[start]).toMatch(/^negotiated TLSv1\.3, cipher TLS_\w+, ALPN x-one \(offered x-one\)$/);
    expect(lines.slice(start + 1, start + 11)).toEqual([
      `certificate chain of ${target}, leaf first (2):`,
      expect.stringMatching(/^ {2}0 subject: CN=localhost\b/),
      expect.stringMatching(/^ {4}issuer: {2}CN=tlsecho test CA\b/),
      '    names:   localhost, 127.0.0.1, ::1',
      expect.stringMatching(new RegExp(`^ {4}valid: {3}${iso} to ${iso}$`)),
      `    ${pki.server.fingerprint}`,
      expect.stringMatching(/^ {2}1 subject: CN=tlsecho test CA\b/),
      expect.stringMatching(/^ {4}issuer: {2}CN=tlsecho test CA\b.*\(self-signed\)$/),
      expect.stringMatching(new RegExp(`^ {4}valid: {3}${iso} to ${iso}$`)),
      `    ${caFingerprint}`,
    ]);
    expect(r.stderr).toMatch(
      new RegExp(`^connected to ${target}: TLSv1\\.3, TLS_\\w+, ALPN x-one, CN=localhost`, 'm'),
    );
  });

  test('connect -v with piped stdin shows the same chain', async () => {
    const { pki, server } = await serverWithChain();
    const r = await runCli(['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '-v'], {
      input: 'a\n',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('a\n');
    expect(r.stderr).toMatch(/^negotiated TLSv1\.3, cipher TLS_\w+, ALPN none$/m);
    expect(r.stderr).toContain(`certificate chain of 127.0.0.1:${server.port}, leaf first (2):`);
    expect(r.stderr).toContain(`    ${pki.server.fingerprint}\n`);
  });
});

describe('testing a server with an older or narrower client', () => {
  test('--max-tls 1.2 against serve --min-tls 1.3 fails with exit 5 and one line saying why', async () => {
    const { pki, server } = await serverWithChain(['--min-tls', '1.3']);
    const target = `127.0.0.1:${server.port}`;
    const r = await runCli(['send', target, '--ca', pki.caFile, '--max-tls', '1.2', 'hi']);
    expect(r).toMatchObject({
      code: 5,
      stdout: '',
      stderr: `tlsecho: ${target} accepts no TLS version offered (TLS 1.2 only, --max-tls 1.2)\n`,
    });
  });

  test('--max-tls 1.2 negotiates TLS 1.2, and --ciphers picks the suite', async () => {
    const { pki, server } = await serverWithChain();
    const target = `127.0.0.1:${server.port}`;
    // The test certificates are ECDSA: both suites below are ones the server accepts for them.
    for (const suite of ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      const r = await runCli([
        'send',
        target,
        '--ca',
        pki.caFile,
        '--max-tls',
        '1.2',
        '--ciphers',
        suite,
        '--json',
        'hi',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as { tls: { protocol: string; cipher: string } };
      expect(result.tls).toMatchObject({ protocol: 'TLSv1.2', cipher: suite });
    }
    const verbose = await runCli([
      'send',
      target,
      '--ca',
      pki.caFile,
      '--max-tls',
      '1.2',
      '--ciphers',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      '-v',
      'hi',
    ]);
    expect(verbose.stderr).toMatch(/^negotiated TLSv1\.2, cipher ECDHE-ECDSA-AES128-GCM-SHA256, ALPN none$/m);
  });

  test('--ciphers with a name OpenSSL does not know is a usage error naming it', async () => {
    const r = await runCli(['send', '127.0.0.1:1', '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA385', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      "tlsecho: invalid --ciphers 'ECDHE-ECDSA-AES256-GCM-SHA385': not a TLS 1.2 cipher suite OpenSSL knows (e.g. ECDHE-ECDSA-AES128-GCM-SHA256)",
    );
  });

  // Before: "tlsecho: TLS handshake with 127.0.0.1:PORT failed: tlsv1 alert no application protocol".
  test('an ALPN mismatch is one line naming what was offered', async () => {
    const { pki, server } = await serverWithChain(['--alpn', 'x-one']);
    const target = `127.0.0.1:${server.port}`;
    const r = await runCli(['send', target, '--ca', pki.caFile, '--alpn', 'h2', '--alpn', 'http/1.1', 'hi']);
    expect(r).toMatchObject({
      code: 5,
      stdout: '',
      stderr: `tlsecho: ${target} accepts none of the ALPN protocols offered (--alpn h2, http/1.1)\n`,
    });
  });
});

describe('certificates outside their dates', () => {
  test('serve warns when its certificate has expired; send --pin warns too, and still goes on', async () => {
    const pki = await makeTestPki();
    const server = await startServeChild(['--cert', pki.expired.certFile, '--key', pki.expired.keyFile]);
    expect(server.log()).toMatch(
      new RegExp(
        `^tlsecho: warning: certificate ${pki.expired.certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} expired on ${iso}: clients that verify it will refuse the handshake$`,
        'm',
      ),
    );
    const target = `127.0.0.1:${server.port}`;
    const r = await runCli(['send', target, '--pin', pki.expired.fingerprint, 'hi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toMatch(
      new RegExp(
        `^tlsecho: warning: the pinned certificate of ${target} expired on ${iso}; trusted only because it matches --pin\n$`,
      ),
    );
  });
});
