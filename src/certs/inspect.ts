import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FileError, systemReason } from '../errors.js';
import { fingerprintOfDer, fingerprintOfPem } from './fingerprint.js';

export { parsePin } from './fingerprint.js';
export { systemReason } from '../errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;
const CERTIFICATE_LABEL = 'CERTIFICATE';
// RFC 7468 labels of private keys Node reads, plus OpenSSL's legacy encrypted form (detected by its header).
const KEY_LABELS = ['PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];

/** A certificate read from a file: its PEM text, its DER bytes and Node's parsed view. */
export interface LoadedCertificate {
  path: string;
  pem: string;
  cert: X509Certificate;
}

/** A private key read from a file, as its PEM text and Node's KeyObject. */
export interface LoadedPrivateKey {
  path: string;
  pem: string;
  key: KeyObject;
}

/** What logs show of a certificate. */
export interface CertificateDescription {
  subject: string;
  commonName: string | undefined;
  /** DNS names then IP addresses, as the certificate lists them. */
  sans: string[];
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  isCa: boolean;
  fingerprint: string;
  serialNumber: string;
}

/**
 * The certificate's SHA-256 fingerprint as `sha256:` + 64 lowercase hex: what `serve` prints and
 * `connect --pin` accepts. Takes PEM text or DER bytes.
 */
export function fingerprintOf(certPemOrDer: string | Uint8Array): string {
  if (typeof certPemOrDer === 'string') return fingerprintOfPem(certPemOrDer);
  if (looksLikePem(certPemOrDer)) return fingerprintOfPem(Buffer.from(certPemOrDer));
  return fingerprintOfDer(certPemOrDer);
}

/**
 * The first certificate in a PEM file. `what` names it in errors (e.g. "CA certificate"), and `label` is how
 * errors show the path (e.g. relative, as the user typed it; default `path`). `swapHint` is the hint for a
 * file that holds a key instead, where the certificate has a key flag beside it ("did you swap --cert and
 * --key?"); elsewhere (a CA bundle) there is no pair to have swapped, and no hint.
 */
export async function loadCertificate(
  path: string,
  what = 'certificate',
  label = path,
  swapHint?: string,
): Promise<LoadedCertificate> {
  const [first] = await loadCertificateBundle(path, what, label, swapHint);
  // loadCertificateBundle never returns an empty list.
  return first as LoadedCertificate;
}

/** Every certificate in a PEM file (a CA bundle), in file order. `what` and `label` as for loadCertificate. */
export async function loadCertificateBundle(
  path: string,
  what = 'CA bundle',
  label = path,
  swapHint?: string,
): Promise<LoadedCertificate[]> {
  const text = await readTextFile(path, what, label);
  const blocks = pemBlocks(text);
  const certificates = blocks.filter((block) => block.label === CERTIFICATE_LABEL);
  if (certificates.length === 0) {
    throw new FileError(`${label} is not a ${what}: ${describeContents(blocks)}`, {
      hint: blocks.some((block) => KEY_LABELS.includes(block.label)) ? swapHint : undefined,
    });
  }
  return certificates.map((block) => {
    try {
      return { path, pem: block.text + '\n', cert: new X509Certificate(block.text) };
    } catch (error) {
      throw new FileError(`${label} holds a damaged certificate: ${reasonOf(error)}`, { cause: error });
    }
  });
}

/**
 * A PEM private key (PKCS#8, PKCS#1 or SEC1). An encrypted key needs `passphrase`; without one the error says
 * so instead of hanging on OpenSSL's own prompt.
 */
export async function loadPrivateKey(
  path: string,
  options: {
    passphrase?: string;
    what?: string;
    label?: string;
    /** What to suggest for an encrypted key when no passphrase was given (default: decrypting it). */
    encryptedHint?: string;
    /** The hint for a file that holds a certificate instead (as for loadCertificate). */
    swapHint?: string;
  } = {},
): Promise<LoadedPrivateKey> {
  const what = options.what ?? 'private key';
  const label = options.label ?? path;
  const text = await readTextFile(path, what, label);
  const blocks = pemBlocks(text);
  const block = blocks.find((candidate) => KEY_LABELS.includes(candidate.label));
  if (!block) {
    throw new FileError(`${label} is not a ${what}: ${describeContents(blocks)}`, {
      hint: blocks.some((candidate) => candidate.label === CERTIFICATE_LABEL) ? options.swapHint : undefined,
    });
  }
  const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type: 4,ENCRYPTED$/m.test(block.text);
  if (encrypted && options.passphrase === undefined) {
    throw new FileError(`${label} is encrypted and no passphrase was given`, {
      code: 'ERR_KEY_ENCRYPTED',
      hint: options.encryptedHint ?? 'decrypt it with: openssl pkey -in KEY -out KEY.plain',
    });
  }
  try {
    const key = createPrivateKey({ key: block.text, format: 'pem', passphrase: options.passphrase });
    return { path, pem: block.text + '\n', key };
  } catch (error) {
    const reason = encrypted ? 'wrong passphrase or damaged key' : reasonOf(error);
    throw new FileError(`cannot read ${what} ${label}: ${reason}`, { cause: error });
  }
}

/**
 * True when `keyPem` is the private key for the certificate's public key (compared as SPKI DER, so the key
 * may be PKCS#8, PKCS#1 or SEC1).
 */
export function keyMatchesCertificate(certPem: string | Buffer, keyPem: string | Buffer | KeyObject): boolean {
  const fromCert = new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' });
  const fromKey = createPublicKey(keyPem).export({ format: 'der', type: 'spki' });
  return fromCert.equals(fromKey);
}

/** Subject, names, issuer and validity of a certificate, for logs and `--json` output. */
export function describeCertificate(certificate: string | Buffer | X509Certificate): CertificateDescription {
  // node:crypto alone: parsing stays in OpenSSL and loading this module stays cheap.
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  return {
    subject: formatName(cert.subject),
    commonName: /^CN=(.*)$/m.exec(cert.subject)?.[1],
    sans: parseSubjectAltNames(cert.subjectAltName),
    issuer: formatName(cert.issuer),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    // Not checkIssued(): OpenSSL's issuer check also wants keyCertSign, which a self-signed leaf lacks.
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
    isCa: cert.ca,
    fingerprint: fingerprintOfDer(cert.raw),
    serialNumber: cert.serialNumber.toLowerCase(),
  };
}

// Node prints a distinguished name one attribute per line; logs want the one-line RFC 4514 look.
function formatName(name: string): string {
  return name.split('\n').join(', ');
}

// Node's form: `DNS:a.test, IP Address:0:0:0:0:0:0:0:1`, values with special characters JSON-quoted.
const SAN_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

function parseSubjectAltNames(text: string | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(SAN_ENTRY)].map(([, type, raw = '']) => {
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (type === 'DNS') return value;
    // The URL parser writes IPv6 addresses in their short RFC 5952 form: 0:0:0:0:0:0:0:1 becomes ::1.
    if (type === 'IP Address') return value.includes(':') ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
    return `${type}:${value}`;
  });
}

/**
 * `expired on …` or `is not valid until …` when `now` lies outside the certificate's dates; undefined inside.
 * Dates are ISO 8601 (UTC), as the logs show them.
 */
export function validityProblem(
  description: Pick<CertificateDescription, 'notBefore' | 'notAfter'>,
  now = new Date(),
): string | undefined {
  if (now > description.notAfter) return `expired on ${description.notAfter.toISOString()}`;
  if (now < description.notBefore) return `is not valid until ${description.notBefore.toISOString()}`;
  return undefined;
}

/** One line for logs: `CN=localhost (localhost, 127.0.0.1) issued by …, valid until …, sha256:…`. */
export function formatCertificate(description: CertificateDescription): string {
  const names = description.sans.length > 0 ? ` (${description.sans.join(', ')})` : '';
  const issuer = description.selfSigned ? 'self-signed' : `issued by ${description.issuer}`;
  return `${description.subject}${names}, ${issuer}, valid until ${description.notAfter.toISOString()}, ${description.fingerprint}`;
}

interface PemBlock {
  label: string;
  text: string;
}

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1] ?? '', text: match[0] }));
}

function describeContents(blocks: PemBlock[]): string {
  if (blocks.length === 0) return 'no PEM data found (expected -----BEGIN CERTIFICATE----- or a PEM key)';
  const labels = [...new Set(blocks.map((block) => block.label))];
  return `it holds ${labels.map((label) => `a ${label}`).join(' and ')}`;
}

function looksLikePem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
}

async function readTextFile(path: string, what: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new FileError(`cannot read ${what} ${label}: ${systemReason(error)}`, { cause: error });
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
}
