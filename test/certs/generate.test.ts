import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APPLE_MAX_SERVER_DAYS,
  generateCa,
  generateEphemeralServerCert,
  generateSelfSigned,
  issueCertificate,
  type GeneratedCertificate,
} from '../../src/certs/generate.js';
import { KEY_TYPES, type KeyType } from '../../src/certs/key-types.js';
import { TlsechoError } from '../../src/errors.js';
import { handshake } from './handshake.js';
import { certPublicKey, keyPublicKey, openssl } from './openssl.js';
import { needs } from '../helpers/system-tools.js';

const withOpenssl = needs('openssl');

const DAY_MS = 86_400_000;

interface Pki {
  dir: string;
  keyType: KeyType;
  ca: GeneratedCertificate;
  selfSigned: GeneratedCertificate;
  server: GeneratedCertificate;
  client: GeneratedCertificate;
  file(name: 'ca' | 'selfSigned' | 'server' | 'client', part: 'crt' | 'key'): string;
}

const cleanups: string[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function makePki(keyType: KeyType): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), `tlsecho-pki-${keyType}-`));
  cleanups.push(dir);
  const ca = await generateCa({ keyType });
  const [selfSigned, server, client] = await Promise.all([
    generateSelfSigned({ keyType }),
    issueCertificate({ issuer: ca, kind: 'server', keyType }),
    issueCertificate({ issuer: ca, kind: 'client', cn: 'alice', keyType }),
  ]);
  const certs = { ca, selfSigned, server, client };
  for (const [name, generated] of Object.entries(certs)) {
    await writeFile(join(dir, `${name}.crt`), generated.certPem);
    await writeFile(join(dir, `${name}.key`), generated.keyPem);
  }
  return { dir, keyType, ...certs, file: (name, part) => join(dir, `${name}.${part}`) };
}

// RSA-4096 takes seconds per key on a small machine; it gets a single certificate below.
const MATRIX_KEY_TYPES = KEY_TYPES.filter((keyType) => keyType !== 'rsa-4096');

describe.each(MATRIX_KEY_TYPES)('%s', (keyType) => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki(keyType);
  });

  withOpenssl.test('openssl parses every certificate, with the extensions each kind needs', async () => {
    const text = async (name: 'ca' | 'selfSigned' | 'server' | 'client') => {
      const r = await openssl(['x509', '-noout', '-text', '-in', pki.file(name, 'crt')]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const ca = await text('ca');
    expect(ca).toMatch(/CA:TRUE, pathlen:0/);
    expect(ca).toMatch(/Certificate Sign, CRL Sign/);
    expect(ca).toMatch(/Subject Key Identifier/);
    expect(ca).not.toMatch(/Subject Alternative Name/);

    for (const name of ['selfSigned', 'server'] as const) {
      const leaf = await text(name);
      expect(leaf).toMatch(/CA:FALSE/);
      expect(leaf).toMatch(/TLS Web Server Authentication/);
      expect(leaf).not.toMatch(/TLS Web Client Authentication/);
      expect(leaf).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
      expect(leaf).toMatch(/Subject Key Identifier/);
      expect(leaf).toMatch(/Subject: CN ?= ?localhost/);
    }
    const server = await text('server');
    expect(server).toMatch(/Authority Key Identifier/);
    const client = await text('client');
    expect(client).toMatch(/TLS Web Client Authentication/);
    expect(client).not.toMatch(/TLS Web Server Authentication/);
    expect(client).toMatch(/Subject: CN ?= ?alice/);

    // keyEncipherment only where the key can be encrypted to: RSA.
    const usage = /X509v3 Key Usage: critical\n\s*(.*)/.exec(server)?.[1];
    expect(usage).toBe(keyType.startsWith('rsa-') ? 'Digital Signature, Key Encipherment' : 'Digital Signature');
  });

  withOpenssl.test('openssl verify accepts CA-issued leaves for their purpose only', async () => {
    const verify = (purpose: string, name: 'server' | 'client') =>
      openssl(['verify', '-CAfile', pki.file('ca', 'crt'), '-purpose', purpose, pki.file(name, 'crt')]);
    expect((await verify('sslserver', 'server')).stdout).toMatch(/: OK/);
    expect((await verify('sslclient', 'client')).stdout).toMatch(/: OK/);
    expect((await verify('sslclient', 'server')).code).not.toBe(0);
    expect((await verify('sslserver', 'client')).code).not.toBe(0);
  });

  withOpenssl.test('openssl verify accepts the self-signed certificate as its own trust anchor, for servers', async () => {
    const ss = pki.file('selfSigned', 'crt');
    expect((await openssl(['verify', '-CAfile', ss, '-purpose', 'sslserver', ss])).stdout).toMatch(/: OK/);
    // ...and a different CA does not vouch for it.
    expect((await openssl(['verify', '-CAfile', pki.file('ca', 'crt'), ss])).code).not.toBe(0);
  });

  withOpenssl.test('each key is PKCS#8 PEM and matches its certificate', async () => {
    for (const name of ['ca', 'selfSigned', 'server', 'client'] as const) {
      expect(pki[name].keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(await keyPublicKey(pki.file(name, 'key'))).toBe(await certPublicKey(pki.file(name, 'crt')));
    }
    expect(await keyPublicKey(pki.file('server', 'key'))).not.toBe(await certPublicKey(pki.file('ca', 'crt')));
  });

  test('a node:tls client with hostname verification accepts the CA-issued server cert', async () => {
    const outcome = await handshake(
      { cert: pki.server.certPem, key: pki.server.keyPem },
      { ca: pki.ca.certPem, servername: 'localhost' },
    );
    expect(outcome.clientError).toBeUndefined();
    expect(outcome.clientOk).toBe(true);
  });
});

describe('validity, serials and names', () => {
  test('leaf certificates stay under the 825 days Apple accepts and start a little in the past', async () => {
    const cert = await generateSelfSigned();
    const lifetime = (cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY_MS;
    expect(lifetime).toBeLessThanOrEqual(APPLE_MAX_SERVER_DAYS);
    expect(lifetime).toBeGreaterThan(800);
    expect(cert.notBefore.getTime()).toBeLessThan(Date.now() - 30 * 60_000);
    const parsed = new X509Certificate(cert.certPem);
    expect(new Date(parsed.validTo).getTime()).toBe(cert.notAfter.getTime());
  });

  test('a CA lasts ten years; --days sets any validity from 1 day', async () => {
    const ca = await generateCa();
    expect(Math.round((ca.notAfter.getTime() - Date.now()) / DAY_MS)).toBe(3650);
    const short = await generateSelfSigned({ days: 1 });
    expect(Math.round((short.notAfter.getTime() - Date.now()) / DAY_MS)).toBe(1);
  });

  test('serial numbers are random, positive and at most 128 bits', async () => {
    const serials = await Promise.all(
      Array.from({ length: 8 }, async () => new X509Certificate((await generateSelfSigned()).certPem).serialNumber),
    );
    expect(new Set(serials).size).toBe(serials.length);
    for (const serial of serials) {
      expect(BigInt(`0x${serial}`)).toBeGreaterThan(0n);
      expect(BigInt(`0x${serial}`)).toBeLessThan(1n << 128n);
    }
    // 16 random bytes: a serial under 2^96 would mean most of the randomness was lost.
    expect(serials.some((serial) => BigInt(`0x${serial}`) >= 1n << 96n)).toBe(true);
  });

  test('host arguments are sorted into DNS and IP SANs, IPv6 included, without duplicates', async () => {
    const cert = await generateSelfSigned({ hosts: ['10.0.0.1', 'API.example.test', '*.example.test', '::1', 'api.example.test'] });
    expect(cert.sans).toEqual(['api.example.test', '*.example.test', '10.0.0.1', '::1']);
    expect(new X509Certificate(cert.certPem).subjectAltName).toBe(
      'DNS:api.example.test, DNS:*.example.test, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(cert.subject).toMatch(/^CN=api\.example\.test(,|$)/);
  });

  test('the ephemeral server certificate is the quick default: P-256 for the loopback names', async () => {
    const started = performance.now();
    const cert = await generateEphemeralServerCert();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(cert.keyType).toBe('ec-p256');
    expect(cert.sans).toEqual(['localhost', '127.0.0.1', '::1']);
    expect(cert.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test.each([
    ['zero days', () => generateSelfSigned({ days: 0 }), /invalid validity of 0 days/],
    ['negative days', () => generateCa({ days: -1 }), /invalid validity of -1 days/],
    ['absurd days', () => generateSelfSigned({ days: 100_000 }), /from 1 to 7300/],
    ['a bad host', () => generateSelfSigned({ hosts: ['localhost', 'bad_host'] }), /invalid host 'bad_host'/],
    ['an empty CN', () => generateCa({ cn: '' }), /invalid common name/],
  ])('refuses %s with a usage error', async (_name, make, message) => {
    const error = await make().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TlsechoError);
    expect((error as TlsechoError).exitCode).toBe(2);
    expect((error as TlsechoError).message).toMatch(message);
  });
});

describe('issuing from a CA', () => {
  let ca: GeneratedCertificate;
  beforeAll(async () => {
    ca = await generateCa({ cn: 'Test CA' });
  });

  test('the chain holds the leaf then the CA', async () => {
    const leaf = await issueCertificate({ issuer: ca, kind: 'server', hosts: ['api.test'] });
    expect(leaf.chainPem).toBe(leaf.certPem + ca.certPem);
    expect(new X509Certificate(leaf.certPem).checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });

  test('refuses an issuer key that does not belong to the CA certificate', async () => {
    const other = await generateCa();
    await expect(
      issueCertificate({
        issuer: { certPem: ca.certPem, keyPem: other.keyPem, certPath: 'ca.crt', keyPath: 'ca.key' },
        kind: 'server',
      }),
    ).rejects.toThrow('ca.key does not match ca.crt');
  });

  test('refuses an issuer that is not a CA', async () => {
    const leaf = await generateSelfSigned();
    await expect(
      issueCertificate({ issuer: { ...leaf, certPath: 'server.crt' }, kind: 'client', cn: 'bob' }),
    ).rejects.toThrow('server.crt is not a CA certificate');
  });

  withOpenssl.test('signs with a CA key openssl made, in its traditional (SEC1) form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlsecho-openssl-ca-'));
    cleanups.push(dir);
    const key = join(dir, 'ca.key');
    const crt = join(dir, 'ca.crt');
    const made = await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', key,
      '-out', crt, '-subj', '/CN=openssl CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const sec1 = await openssl(['ec', '-in', key]);
    expect(sec1.stdout).toMatch(/BEGIN EC PRIVATE KEY/);
    const { readFile } = await import('node:fs/promises');
    const leaf = await issueCertificate({
      issuer: { certPem: await readFile(crt, 'utf8'), keyPem: sec1.stdout },
      kind: 'server',
    });
    const leafFile = join(dir, 'leaf.crt');
    await writeFile(leafFile, leaf.certPem);
    expect((await openssl(['verify', '-CAfile', crt, '-purpose', 'sslserver', leafFile])).stdout).toMatch(/: OK/);
    // A P-384 CA signs with SHA-384.
    expect((await openssl(['x509', '-in', leafFile, '-noout', '-text'])).stdout).toMatch(/ecdsa-with-SHA384/);
  });
});

withOpenssl.test('rsa-4096: one self-signed certificate that openssl parses and whose key matches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-rsa4096-'));
  cleanups.push(dir);
  const cert = await generateSelfSigned({ keyType: 'rsa-4096' });
  await writeFile(join(dir, 'c.crt'), cert.certPem);
  await writeFile(join(dir, 'c.key'), cert.keyPem);
  const text = await openssl(['x509', '-noout', '-text', '-in', join(dir, 'c.crt')]);
  expect(text.stdout).toMatch(/Public-Key: \(4096 bit\)/);
  expect(await keyPublicKey(join(dir, 'c.key'))).toBe(await certPublicKey(join(dir, 'c.crt')));
  const self = join(dir, 'c.crt');
  expect((await openssl(['verify', '-CAfile', self, '-purpose', 'sslserver', self])).stdout).toMatch(/: OK/);
});
