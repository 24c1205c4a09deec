import { createPrivateKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { generateCa, generateSelfSigned, issueCertificate, type GeneratedCertificate } from '../../src/certs/generate.js';
import {
  describeCertificate,
  fingerprintOf,
  formatCertificate,
  keyMatchesCertificate,
  loadCertificate,
  loadCertificateBundle,
  loadPrivateKey,
  parsePin,
} from '../../src/certs/inspect.js';
import { FileError, UsageError } from '../../src/errors.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { openssl } from './openssl.js';
import { needs } from '../helpers/system-tools.js';

const withOpenssl = needs('openssl');

let ca: GeneratedCertificate;
let leaf: GeneratedCertificate;
let selfSigned: GeneratedCertificate;

beforeAll(async () => {
  ca = await generateCa({ cn: 'Inspect CA' });
  [leaf, selfSigned] = await Promise.all([
    issueCertificate({ issuer: ca, kind: 'server', hosts: ['api.test', '10.1.2.3', '::1'] }),
    generateSelfSigned(),
  ]);
});

async function fileWith(contents: string | Buffer, name = 'file.pem'): Promise<string> {
  const path = join(await makeTempDir(), name);
  await writeFile(path, contents);
  return path;
}

async function failure(work: Promise<unknown>): Promise<FileError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileError);
  expect((error as FileError).message).not.toMatch(/\n/);
  return error as FileError;
}

describe('fingerprints and pins', () => {
  withOpenssl.test('fingerprintOf matches openssl x509 -fingerprint -sha256, from PEM text or DER bytes', async () => {
    const path = await fileWith(leaf.certPem);
    const r = await openssl(['x509', '-in', path, '-noout', '-fingerprint', '-sha256']);
    const hex = /=([0-9A-F:]+)/.exec(r.stdout)?.[1]?.replace(/:/g, '').toLowerCase();
    expect(fingerprintOf(leaf.certPem)).toBe(`sha256:${hex}`);
    const der = (await loadCertificate(path)).cert.raw;
    expect(fingerprintOf(der)).toBe(`sha256:${hex}`);
    expect(fingerprintOf(Buffer.from(leaf.certPem))).toBe(`sha256:${hex}`);
    expect(leaf.fingerprint).toBe(`sha256:${hex}`);
  });

  test('parsePin accepts the printed form, openssl colons, any case, and bare hex', () => {
    const pin = leaf.fingerprint;
    const hex = pin.slice('sha256:'.length);
    const colons = hex.toUpperCase().match(/../g)!.join(':');
    for (const text of [pin, pin.toUpperCase(), `sha256:${colons}`, colons, hex, ` ${hex}\n`]) {
      expect(parsePin(text)).toBe(pin);
    }
  });

  test.each(['', 'sha256:', 'sha1:abcd', `sha256:${'g'.repeat(64)}`, 'a'.repeat(63), 'a'.repeat(65)])(
    'parsePin refuses %j with a usage error',
    (text) => {
      expect(() => parsePin(text)).toThrow(UsageError);
    },
  );
});

describe('describing a certificate', () => {
  test('gives subject, names, issuer, validity, CA-ness and self-signedness', () => {
    const issued = describeCertificate(leaf.certPem);
    expect(issued).toMatchObject({
      commonName: 'api.test',
      sans: ['api.test', '10.1.2.3', '::1'],
      issuer: ca.subject,
      selfSigned: false,
      isCa: false,
      fingerprint: leaf.fingerprint,
    });
    expect(issued.notAfter).toEqual(leaf.notAfter);
    expect(describeCertificate(ca.certPem)).toMatchObject({ isCa: true, selfSigned: true, sans: [] });
    expect(describeCertificate(selfSigned.certPem)).toMatchObject({ isCa: false, selfSigned: true });
  });

  test('formats one line for logs', () => {
    const line = formatCertificate(describeCertificate(selfSigned.certPem));
    expect(line).toMatch(/^CN=localhost, .* \(localhost, 127\.0\.0\.1, ::1\), self-signed, valid until \d{4}-/);
    expect(line.endsWith(selfSigned.fingerprint)).toBe(true);
    expect(line).not.toMatch(/\n/);
  });
});

describe('loading PEM files', () => {
  test('loads a certificate and a CA bundle in file order', async () => {
    const path = await fileWith(leaf.chainPem!);
    expect((await loadCertificate(path)).cert.subject).toMatch(/CN=api\.test/);
    const bundle = await loadCertificateBundle(path);
    expect(bundle.map((entry) => fingerprintOf(entry.pem))).toEqual([leaf.fingerprint, ca.fingerprint]);
  });

  test('names a missing file', async () => {
    const dir = await makeTempDir();
    const error = await failure(loadCertificate(join(dir, 'nope.crt'), 'CA certificate'));
    expect(error.message).toBe(`cannot read CA certificate ${join(dir, 'nope.crt')}: no such file`);
  });

  test('names a directory given as a file', async () => {
    const dir = await makeTempDir();
    await mkdir(join(dir, 'ca.crt'));
    const error = await failure(loadCertificate(join(dir, 'ca.crt')));
    expect(error.message).toMatch(/ca\.crt: it is a directory$/);
  });

  test('says when a file is not PEM', async () => {
    const error = await failure(loadCertificate(await fileWith('hello\n')));
    expect(error.message).toMatch(/is not a certificate: no PEM data found/);
  });

  test('says when a key sits where a certificate should, and the other way round', async () => {
    const keyFile = await fileWith(leaf.keyPem, 'server.key');
    const certFile = await fileWith(leaf.certPem, 'server.crt');
    expect((await failure(loadCertificate(keyFile))).message).toMatch(/server\.key is not a certificate: it holds a PRIVATE KEY$/);
    expect((await failure(loadPrivateKey(certFile))).message).toMatch(/server\.crt is not a private key: it holds a CERTIFICATE$/);
  });

  test('reads PKCS#8, and the traditional PKCS#1 and SEC1 forms openssl writes', async () => {
    const rsa = await generateSelfSigned({ keyType: 'rsa-2048' });
    const pkcs1 = createPrivateKey(rsa.keyPem).export({ format: 'pem', type: 'pkcs1' }) as string;
    const sec1 = createPrivateKey(leaf.keyPem).export({ format: 'pem', type: 'sec1' }) as string;
    expect(pkcs1).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect(sec1).toMatch(/BEGIN EC PRIVATE KEY/);
    expect((await loadPrivateKey(await fileWith(leaf.keyPem))).key.asymmetricKeyType).toBe('ec');
    expect((await loadPrivateKey(await fileWith(pkcs1))).key.asymmetricKeyType).toBe('rsa');
    expect(keyMatchesCertificate(rsa.certPem, pkcs1)).toBe(true);
    expect(keyMatchesCertificate(leaf.certPem, sec1)).toBe(true);
  });

  test('an encrypted key needs its passphrase, and a wrong one is named as such', async () => {
    const encrypted = createPrivateKey(leaf.keyPem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }) as string;
    const path = await fileWith(encrypted, 'enc.key');
    const missing = await failure(loadPrivateKey(path));
    expect(missing.message).toBe(`${path} is encrypted and no passphrase was given`);
    const wrong = await failure(loadPrivateKey(path, { passphrase: 'guess' }));
    expect(wrong.message).toBe(`cannot read private key ${path}: wrong passphrase or damaged key`);
    const loaded = await loadPrivateKey(path, { passphrase: 'secret' });
    expect(keyMatchesCertificate(leaf.certPem, loaded.key)).toBe(true);
  });
});

test('keyMatchesCertificate tells a certificate’s own key from another', () => {
  expect(keyMatchesCertificate(leaf.certPem, leaf.keyPem)).toBe(true);
  expect(keyMatchesCertificate(leaf.certPem, ca.keyPem)).toBe(false);
});
