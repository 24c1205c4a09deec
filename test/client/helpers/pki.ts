import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateCa,
  generateSelfSigned,
  issueCertificate,
  type GeneratedCertificate,
} from '../../../src/certs/generate.js';
import { fingerprintOfDer } from '../../../src/certs/fingerprint.js';
import { x509 } from '../../../src/certs/x509.js';
import { makeTempDir } from '../../helpers/tmpdir.js';

/** A certificate and key in memory and on disk. */
export interface CertFiles {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  fingerprint: string;
}

/** A small PKI for client tests: a CA, servers it issued, a self-signed one, an expired one, a client. */
export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  /** Issued by the CA for localhost, 127.0.0.1 and ::1. */
  server: CertFiles;
  /** Self-signed for the same names. */
  selfSigned: CertFiles;
  /** Issued by the CA, expired yesterday. */
  expired: CertFiles;
  /** A client certificate issued by the CA (clientAuth), for mutual TLS. */
  client: CertFiles;
}

interface GeneratedPki {
  caPem: string;
  server: GeneratedCertificate;
  selfSigned: GeneratedCertificate;
  client: GeneratedCertificate;
  expired: GeneratedCertificate;
}

let cached: Promise<GeneratedPki> | undefined;

// Key generation is the slow part: make the certificates once per test file, write them per test.
function generateAll(): Promise<GeneratedPki> {
  cached ??= (async () => {
    const ca = await generateCa({ cn: 'tlsecho test CA' });
    const [server, selfSigned, client, expired] = await Promise.all([
      issueCertificate({ issuer: ca, kind: 'server' }),
      generateSelfSigned(),
      issueCertificate({ issuer: ca, kind: 'client', cn: 'test client' }),
      issueExpired(ca),
    ]);
    return { caPem: ca.certPem, server, selfSigned, client, expired };
  })();
  return cached;
}

/** Writes the test PKI into a temp dir removed when the test ends. */
export async function makeTestPki(): Promise<TestPki> {
  return writeTestPki(await makeTempDir('tlsecho-client-pki-'));
}

/** The same, for a whole file's tests (from beforeAll): the caller removes it with `cleanup` in afterAll. */
export async function makeSharedTestPki(): Promise<TestPki & { cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-client-pki-'));
  const pki = await writeTestPki(dir);
  return { ...pki, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function writeTestPki(dir: string): Promise<TestPki> {
  const generated = await generateAll();
  const caFile = join(dir, 'ca.crt');
  await writeFile(caFile, generated.caPem);
  const save = async (name: string, cert: GeneratedCertificate): Promise<CertFiles> => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    await writeFile(certFile, cert.certPem);
    await writeFile(keyFile, cert.keyPem, { mode: 0o600 });
    return { certPem: cert.certPem, keyPem: cert.keyPem, certFile, keyFile, fingerprint: cert.fingerprint };
  };
  return {
    dir,
    caFile,
    caPem: generated.caPem,
    server: await save('server', generated.server),
    selfSigned: await save('self-signed', generated.selfSigned),
    expired: await save('expired', generated.expired),
    client: await save('client', generated.client),
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

// The generator refuses validity in the past (rightly), so an expired leaf is built here with the same
// X.509 library: valid from ten days ago until yesterday, signed by the test CA.
async function issueExpired(ca: GeneratedCertificate): Promise<GeneratedCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const caKeyDer = createPrivateKey(ca.keyPem).export({ format: 'der', type: 'pkcs8' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, algorithm, false, ['sign']);
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: 'CN=localhost',
    issuer: caCert.subject,
    notBefore: new Date(now - 10 * DAY_MS),
    notAfter: new Date(now - DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem,
    fingerprint: fingerprintOfDer(new Uint8Array(cert.rawData)),
    subject: cert.subject,
    sans: ['localhost', '127.0.0.1'],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyType: 'ec-p256',
    isCa: false,
    serialNumber: cert.serialNumber,
  };
}
