// `serve --cert fullchain.pem`: a leaf, then the intermediate that signed it, in one file, as nginx and HAProxy
// take them. Clients that trust only the root must verify the server, so the whole chain goes on the wire.
// The chain (root CA → intermediate CA → leaf) is made with openssl: tlsecho's own CA has pathLen 0 and
// signs no intermediate. Run `npm run build` first.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openssl } from '../certs/openssl.js';
import { needs } from '../helpers/system-tools.js';
import { runCli, spawnCli } from '../helpers/run-cli.js';

const withOpenssl = needs('openssl');

const EXTENSIONS = `
[intermediate]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

let dir: string;
const file = (name: string) => join(dir, name);

async function run(args: string[]): Promise<void> {
  const r = await openssl(args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlsecho-fullchain-'));
  await writeFile(file('ext.cnf'), EXTENSIONS);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run([
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    file('root.key'),
    '-out',
    file('root.crt'),
    '-subj',
    '/CN=test root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [name, cn, issuer, section] of [
    ['intermediate', 'test intermediate', 'root', 'intermediate'],
    ['leaf', 'localhost', 'intermediate', 'leaf'],
  ] as const) {
    await run([
      'req',
      ...newKey,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    await run([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${issuer}.crt`),
      '-CAkey',
      file(`${issuer}.key`),
      '-set_serial',
      String(Date.now()),
      '-days',
      '30',
      '-extfile',
      file('ext.cnf'),
      '-extensions',
      section,
      '-out',
      file(`${name}.crt`),
    ]);
  }
  const [leaf, intermediate] = await Promise.all([
    readFile(file('leaf.crt'), 'utf8'),
    readFile(file('intermediate.crt'), 'utf8'),
  ]);
  await writeFile(file('fullchain.pem'), leaf + intermediate);
  await writeFile(file('wrong-order.pem'), intermediate + leaf);
}, 30_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

/** Starts `tlsecho serve` on a free port and resolves with the port and stderr once it listens. */
async function serve(args: string[]): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', ...args], { cwd: dir });
  child.stdin!.end();
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen within 10 s: ${stderr}`)), 10_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
  return { child, port, log: () => stderr };
}

/** The certificates the server sends, as `openssl s_client -showcerts` sees them, and its verdict. */
async function showCerts(port: number): Promise<{ count: number; verify: string }> {
  const r = await openssl([
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-showcerts',
    '-CAfile',
    file('root.crt'),
  ]);
  return {
    count: r.stdout.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0,
    verify: /Verify return code: .*/.exec(r.stdout)?.[0] ?? r.stdout,
  };
}

withOpenssl.describe('serve --cert with a full-chain file', () => {
  test('a client trusting only the root verifies the server; the intermediate is on the wire', async () => {
    const server = await serve(['--cert', 'fullchain.pem', '--key', 'leaf.key']);
    expect(server.log().split('\n')[0]).toMatch(
      /^certificate fullchain\.pem \(sha256:[0-9a-f]{64}\), sent with 1 chain certificate$/,
    );
    const r = await runCli(['send', '--ca', file('root.crt'), `localhost:${server.port}`, 'hello']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'hello\n',
      stderr: '',
    });
    expect(await showCerts(server.port)).toEqual({ count: 2, verify: 'Verify return code: 0 (ok)' });
  });

  test('--ca-chain still works, and a certificate in both is sent once', async () => {
    const split = await serve(['--cert', 'leaf.crt', '--key', 'leaf.key', '--ca-chain', 'intermediate.crt']);
    expect(await showCerts(split.port)).toEqual({ count: 2, verify: 'Verify return code: 0 (ok)' });
    const both = await serve([
      '--cert',
      'fullchain.pem',
      '--key',
      'leaf.key',
      '--ca-chain',
      'intermediate.crt',
    ]);
    expect(await showCerts(both.port)).toEqual({ count: 2, verify: 'Verify return code: 0 (ok)' });
  });

  test('a file with the leaf after its chain: exit 3, one line saying where the key belongs', async () => {
    const r = await runCli(['serve', '--port', '0', '--cert', 'wrong-order.pem', '--key', 'leaf.key'], {
      cwd: dir,
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 3,
      stderr:
        "tlsecho: leaf.key belongs to certificate 2 of wrong-order.pem, not the first: the server's own certificate must come first, then its chain\n",
    });
  });
});
