// `tlsecho gencert` as users run it: a child process (node bin/tlsecho, the built dist/) with stdin a pipe and
// CI set, in a fresh temp folder. Run `npm run build` first.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGencertOptions, withGencertOptions, type GencertArgs } from '../../src/cli/commands/gencert.js';
import { generateCa, generateSelfSigned } from '../../src/certs/generate.js';
import type { GencertOptions } from '../../src/certs/gencert.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { runCli } from '../helpers/run-cli.js';
import { openssl } from '../certs/openssl.js';
import { needs } from '../helpers/system-tools.js';

// Without openssl the checks it makes are left out (one line on stderr says so); CI always makes them.
const withOpenssl = needs('openssl');

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const listing = async (dir: string) => (await readdir(dir)).sort();

async function gencert(cwd: string, ...args: string[]) {
  return runCli(['gencert', ...args], { cwd });
}

async function verify(cwd: string, ca: string, purpose: 'sslserver' | 'sslclient', cert: string) {
  return (await openssl(['verify', '-CAfile', join(cwd, ca), '-purpose', purpose, join(cwd, cert)])).stdout;
}

describe('making certificates', () => {
  test('with no flags: a self-signed P-256 server certificate for the loopback names in ./certs', async () => {
    const cwd = await makeTempDir();
    const r = await gencert(cwd);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(await listing(join(cwd, 'certs'))).toEqual(['server.crt', 'server.key']);
    expect(await modeOf(join(cwd, 'certs/server.key'))).toBe(0o600);
    expect(await modeOf(join(cwd, 'certs/server.crt'))).toBe(0o644);

    const cert = new X509Certificate(await readFile(join(cwd, 'certs/server.crt')));
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const fingerprint = `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`;
    if (withOpenssl.available) {
      expect(await verify(cwd, 'certs/server.crt', 'sslserver', 'certs/server.crt')).toMatch(/: OK/);
    }

    const expires = new Date(cert.validTo).toISOString().slice(0, 10);
    expect(r.stderr).toBe(
      [
        'Created a self-signed server certificate for localhost, 127.0.0.1, ::1',
        '  certificate  certs/server.crt',
        '  private key  certs/server.key (mode 0600)',
        `  fingerprint  ${fingerprint}`,
        `  expires      ${expires}`,
        '',
        'Next:',
        '  tlsecho serve --cert certs/server.crt --key certs/server.key',
        `  tlsecho connect --pin ${fingerprint} localhost:7000`,
        '',
      ].join('\n'),
    );
  });

  test('--json prints one JSON result on stdout and nothing on stderr', async () => {
    const cwd = await makeTempDir();
    const r = await gencert(
      cwd,
      '--json',
      '--host',
      'api.test,10.0.0.7',
      '--key-type',
      'ed25519',
      '--days',
      '30',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.endsWith('}\n')).toBe(true);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    const cert = new X509Certificate(await readFile(join(cwd, 'certs/server.crt')));
    expect(result).toEqual({
      kind: 'self-signed',
      keyType: 'ed25519',
      files: { cert: join(cwd, 'certs/server.crt'), key: join(cwd, 'certs/server.key') },
      fingerprint: `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`,
      subject: 'CN=api.test, O=tlsecho development certificate',
      sans: ['api.test', '10.0.0.7'],
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
    });
    expect(Math.round((Date.parse(result.notAfter as string) - Date.now()) / 86_400_000)).toBe(30);
  });

  withOpenssl.test(
    'a local CA, then a server and a client certificate it signs, each verified by openssl',
    async () => {
      const cwd = await makeTempDir();
      const ca = await gencert(cwd, '--ca');
      expect(ca.code).toBe(0);
      expect(ca.stderr).toMatch(/^Created a local certificate authority "tlsecho local CA"\n/);
      expect(ca.stderr).toContain('  tlsecho gencert --issuer certs ');
      expect(await modeOf(join(cwd, 'certs/ca.key'))).toBe(0o600);
      expect(await openssl(['x509', '-noout', '-text', '-in', join(cwd, 'certs/ca.crt')])).toMatchObject({
        stdout: expect.stringMatching(/CA:TRUE, pathlen:0/),
      });

      const server = await gencert(cwd, '--issuer', 'certs', '--host', 'api.test', '--host', '127.0.0.1');
      expect(server.code, server.stderr).toBe(0);
      expect(server.stderr).toMatch(
        /^Created a server certificate for api\.test, 127\.0\.0\.1, signed by the CA in certs\/ca\.crt\n/,
      );
      expect(server.stderr).toContain('  chain        certs/server.chain.pem (certificate + CA)\n');
      expect(server.stderr).toContain(
        '  tlsecho connect --ca certs/ca.crt 127.0.0.1:7000 --servername api.test\n',
      );
      expect(await verify(cwd, 'certs/ca.crt', 'sslserver', 'certs/server.crt')).toMatch(/: OK/);
      const chain = await readFile(join(cwd, 'certs/server.chain.pem'), 'utf8');
      expect(chain).toBe(
        (await readFile(join(cwd, 'certs/server.crt'), 'utf8')) +
          (await readFile(join(cwd, 'certs/ca.crt'), 'utf8')),
      );

      const client = await gencert(cwd, '--issuer', 'certs', '--client', '--name', 'alice');
      expect(client.code, client.stderr).toBe(0);
      expect(client.stderr).toMatch(
        /^Created a client certificate "alice", signed by the CA in certs\/ca\.crt\n/,
      );
      expect(client.stderr).toContain(
        '  tlsecho connect --ca certs/ca.crt --cert certs/alice.crt --key certs/alice.key localhost:7000\n',
      );
      expect(await verify(cwd, 'certs/ca.crt', 'sslclient', 'certs/alice.crt')).toMatch(/: OK/);
      expect(await verify(cwd, 'certs/ca.crt', 'sslserver', 'certs/alice.crt')).not.toMatch(/: OK/);
      expect(new X509Certificate(await readFile(join(cwd, 'certs/alice.crt'))).subject).toMatch(
        /^CN=alice$/m,
      );
      expect(await listing(join(cwd, 'certs'))).toEqual([
        'alice.chain.pem',
        'alice.crt',
        'alice.key',
        'ca.crt',
        'ca.key',
        'server.chain.pem',
        'server.crt',
        'server.key',
      ]);
    },
  );

  test('--ca-cert and --ca-key sign with CA files anywhere, into --out with --name', async () => {
    const cwd = await makeTempDir();
    const ca = await generateCa({ keyType: 'rsa-2048' });
    await mkdir(join(cwd, 'pki'));
    await writeFile(join(cwd, 'pki/root.pem'), ca.certPem);
    // The traditional PKCS#1 form openssl genrsa writes.
    await writeFile(
      join(cwd, 'pki/root-key.pem'),
      createPrivateKey(ca.keyPem).export({ format: 'pem', type: 'pkcs1' }),
    );
    const args = [
      '--ca-cert',
      'pki/root.pem',
      '--ca-key',
      'pki/root-key.pem',
      '--out',
      'out/tls',
      '--name',
      'web',
    ];
    const r = await gencert(cwd, ...args);
    expect(r.code, r.stderr).toBe(0);
    expect(await listing(join(cwd, 'out/tls'))).toEqual(['web.chain.pem', 'web.crt', 'web.key']);
    if (withOpenssl.available) {
      expect(await verify(cwd, 'pki/root.pem', 'sslserver', 'out/tls/web.crt')).toMatch(/: OK/);
    }
  });
});

test('a server certificate longer-lived than Apple platforms accept is made, with a warning', async () => {
  const cwd = await makeTempDir();
  const r = await gencert(cwd, '--days', '1000');
  expect(r.code).toBe(0);
  expect(r.stderr.split('\n')[0]).toBe(
    'tlsecho: warning: the certificate is valid for more than 825 days; macOS and iOS reject such server certificates',
  );
  expect(r.stderr).toContain('Created a self-signed server certificate');
});

test('a certificate asked to outlive its CA ends when the CA does, with a warning, and verifies', async () => {
  const cwd = await makeTempDir();
  expect((await gencert(cwd, '--ca', '--days', '30')).code).toBe(0);
  const fromCa = ['--ca-cert', 'certs/ca.crt', '--ca-key', 'certs/ca.key'];
  const r = await gencert(cwd, ...fromCa, '--days', '90', '--json');
  expect(r.code, r.stderr).toBe(0);
  const ca = new X509Certificate(await readFile(join(cwd, 'certs/ca.crt')));
  const leaf = new X509Certificate(await readFile(join(cwd, 'certs/server.crt')));
  expect(leaf.validTo).toBe(ca.validTo);
  expect(JSON.parse(r.stdout).notAfter).toBe(new Date(ca.validTo).toISOString());
  const warning = JSON.parse(r.stderr.trim().split('\n')[0]!);
  expect(warning).toMatchObject({ level: 'warn' });
  expect(warning.msg).toBe(
    `the certificate ends on ${new Date(ca.validTo).toISOString().slice(0, 10)}, when its CA expires, ` +
      'not after the days asked for: a chain stops verifying once its CA has expired',
  );
  if (withOpenssl.available) {
    expect(await verify(cwd, 'certs/ca.crt', 'sslserver', 'certs/server.crt')).toMatch(/: OK/);
  }
  // Within the CA's life, the days asked for are kept, and nothing is said.
  const within = await gencert(cwd, ...fromCa, '--days', '7', '--name', 'short');
  expect(within.code).toBe(0);
  expect(within.stderr).not.toContain('warning');
  const short = new X509Certificate(await readFile(join(cwd, 'certs/short.crt')));
  expect(Date.parse(short.validTo) - Date.now()).toBeLessThan(8 * 86_400_000);
});

describe('never overwriting', () => {
  test('an existing file: exit 3, the file named, nothing written', async () => {
    const cwd = await makeTempDir();
    await mkdir(join(cwd, 'certs'));
    await writeFile(join(cwd, 'certs/server.key'), 'precious\n');
    const r = await gencert(cwd);
    expect(r).toMatchObject({
      code: 3,
      stdout: '',
      stderr: 'tlsecho: certs/server.key already exists (pass --force to replace it)\n',
    });
    expect(await listing(join(cwd, 'certs'))).toEqual(['server.key']);
    expect(await readFile(join(cwd, 'certs/server.key'), 'utf8')).toBe('precious\n');
  });

  test('--force replaces the whole set', async () => {
    const cwd = await makeTempDir();
    const first = JSON.parse((await gencert(cwd, '--json')).stdout) as { fingerprint: string };
    const second = await gencert(cwd, '--json', '--force');
    expect(second.code).toBe(0);
    const { fingerprint } = JSON.parse(second.stdout) as { fingerprint: string };
    expect(fingerprint).not.toBe(first.fingerprint);
    const cert = new X509Certificate(await readFile(join(cwd, 'certs/server.crt')));
    expect(`sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`).toBe(fingerprint);
    expect(await modeOf(join(cwd, 'certs/server.key'))).toBe(0o600);
  });

  test('a target that is a folder: exit 3 and no other file written', async () => {
    const cwd = await makeTempDir();
    await mkdir(join(cwd, 'certs/server.key'), { recursive: true });
    const r = await gencert(cwd, '--force');
    expect(r).toMatchObject({
      code: 3,
      stderr: 'tlsecho: cannot write certs/server.key: it is a directory\n',
    });
    expect(await listing(join(cwd, 'certs'))).toEqual(['server.key']);
  });

  test('an output folder under a file: exit 3 and nothing created', async () => {
    const cwd = await makeTempDir();
    await writeFile(join(cwd, 'notes.txt'), 'x');
    const r = await gencert(cwd, '--out', 'notes.txt/certs');
    expect(r).toMatchObject({
      code: 3,
      stderr: 'tlsecho: cannot write notes.txt/certs/server.crt: a parent in the path is not a directory\n',
    });
    expect(await listing(cwd)).toEqual(['notes.txt']);
  });
});

describe('bad input: one line, the documented exit code, no file written', () => {
  let cas: string;
  // CA folders for the whole suite, outside each test's own folder (which must stay empty).
  afterAll(() => rm(cas, { recursive: true, force: true }));
  beforeAll(async () => {
    cas = await mkdtemp(join(tmpdir(), 'tlsecho-gencert-cas-'));
    const [good, other, leaf] = await Promise.all([generateCa(), generateCa(), generateSelfSigned()]);
    const put = async (dir: string, crt: string, key: string) => {
      await mkdir(join(cas, dir), { recursive: true });
      await writeFile(join(cas, dir, 'ca.crt'), crt);
      await writeFile(join(cas, dir, 'ca.key'), key);
    };
    await put('mismatch', good.certPem, other.keyPem);
    await put('not-a-ca', leaf.certPem, leaf.keyPem);
    const encrypted = createPrivateKey(good.keyPem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    });
    await put('encrypted', good.certPem, encrypted as string);
  });

  const usageHint = "hint: see 'tlsecho gencert --help'\n";
  test.each([
    [
      ['--key-type', 'rsa-1024'],
      2,
      "tlsecho: unknown --key-type 'rsa-1024': choose one of ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072, rsa-4096\n" +
        usageHint,
    ],
    [
      ['--days', '0'],
      2,
      "tlsecho: invalid --days '0': expected a whole number of days from 1 to 7300\n" + usageHint,
    ],
    [
      ['--days=-5'],
      2,
      "tlsecho: invalid --days '-5': expected a whole number of days from 1 to 7300\n" + usageHint,
    ],
    [
      ['--days', '100000'],
      2,
      "tlsecho: invalid --days '100000': expected a whole number of days from 1 to 7300\n" + usageHint,
    ],
    [
      ['--days', 'ten'],
      2,
      "tlsecho: invalid --days 'ten': expected a whole number of days from 1 to 7300\n" + usageHint,
    ],
    [
      ['--host', 'localhost,bad_host'],
      2,
      "tlsecho: invalid host 'bad_host': not a DNS name or an IP address\n" + usageHint,
    ],
    [
      ['--host', '300.1.1.1'],
      2,
      "tlsecho: invalid host '300.1.1.1': looks like an IP address but is not one\n" + usageHint,
    ],
    [
      ['--ca', '--issuer', 'x'],
      2,
      'tlsecho: --ca and --issuer cannot go together: a CA signs itself\n' + usageHint,
    ],
    [
      ['--client'],
      2,
      'tlsecho: --client needs a CA to sign it: pass --issuer DIR (or --ca-cert and --ca-key)\n' + usageHint,
    ],
    [
      ['--ca-cert', 'x.crt'],
      2,
      'tlsecho: --ca-cert and --ca-key go together: pass both or neither\n' + usageHint,
    ],
    [
      ['--ca', '--host', 'a.test'],
      2,
      'tlsecho: --ca and --host cannot go together: a CA certificate names no hosts\n' + usageHint,
    ],
    [
      ['--name', '../server'],
      2,
      "tlsecho: invalid --name '../server': expected a file name without folders (--out sets the folder)\n" +
        usageHint,
    ],
    [['--issuer', 'nowhere'], 3, 'tlsecho: cannot read CA certificate nowhere/ca.crt: no such file\n'],
    [
      ['--issuer', '{cas}/mismatch'],
      3,
      "tlsecho: {cas}/mismatch/ca.key does not match {cas}/mismatch/ca.crt: the key is not the CA's private key\n",
    ],
    [
      ['--issuer', '{cas}/not-a-ca'],
      3,
      'tlsecho: {cas}/not-a-ca/ca.crt is not a CA certificate (basicConstraints CA:true is missing)\n' +
        'hint: make a CA with tlsecho gencert --ca\n',
    ],
    [
      ['--issuer', '{cas}/encrypted'],
      3,
      'tlsecho: {cas}/encrypted/ca.key is encrypted and no passphrase was given\n' +
        'hint: decrypt it with: openssl pkey -in KEY -out KEY.plain\n',
    ],
  ])('%j → exit %i', async (args, code, stderr) => {
    const cwd = await makeTempDir();
    const r = await gencert(cwd, ...args.map((arg) => arg.replace('{cas}', cas)));
    expect(r).toMatchObject({ code, stdout: '', stderr: stderr.replaceAll('{cas}', cas) });
    expect(await readdir(cwd)).toEqual([]);
  });
});

describe('flags to options', () => {
  const base: GencertOptions = {
    kind: 'self-signed',
    outDir: 'certs',
    name: 'server',
    hosts: [],
    cn: undefined,
    days: undefined,
    keyType: 'ec-p256',
    issuer: undefined,
    force: false,
    json: false,
  };
  test.each<[string, Partial<GencertOptions>]>([
    ['', {}],
    ['--ca', { kind: 'ca', name: 'ca' }],
    [
      '--ca --cn Dev-CA --days 365 --key-type ec-p384',
      { kind: 'ca', name: 'ca', cn: 'Dev-CA', days: 365, keyType: 'ec-p384' },
    ],
    ['--issuer pki', { kind: 'server', issuer: { certPath: 'pki/ca.crt', keyPath: 'pki/ca.key' } }],
    [
      '--issuer pki --client --name alice',
      {
        kind: 'client',
        name: 'alice',
        cn: 'alice',
        issuer: { certPath: 'pki/ca.crt', keyPath: 'pki/ca.key' },
      },
    ],
    [
      '--ca-cert a.pem --ca-key b.pem --client --cn Bob',
      { kind: 'client', name: 'client', cn: 'Bob', issuer: { certPath: 'a.pem', keyPath: 'b.pem' } },
    ],
    ['--host a.test --host b.test,10.0.0.1', { hosts: ['a.test', 'b.test', '10.0.0.1'] }],
    [
      '--out /srv/tls --name web --force --json',
      { outDir: '/srv/tls', name: 'web', force: true, json: true },
    ],
    ['--yes', {}],
  ])('gencert %s', async (argv, expected) => {
    const parsed = await withGencertOptions(yargs(argv.split(' ').filter(Boolean)))
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
    expect(toGencertOptions(parsed as GencertArgs)).toEqual({ ...base, ...expected });
  });
});
