import { createPrivateKey, randomBytes, X509Certificate as NodeX509Certificate, type webcrypto } from 'node:crypto';
import { FileError, UsageError } from '../errors.js';
import { fingerprintOfDer } from './fingerprint.js';
import { DEFAULT_HOSTS, listHosts, parseIpAddress, sortHosts, type SubjectAltNames } from './hosts.js';
import {
  DEFAULT_KEY_TYPE,
  exportPrivateKeyPem,
  generateKeyPair,
  importSigningKey,
  isRsaKeyType,
  signingAlgorithmFor,
  type KeyType,
} from './key-types.js';
import { keyMatchesCertificate } from './inspect.js';
import { DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS, MAX_DAYS } from './validity.js';
import { x509 } from './x509.js';

export { APPLE_MAX_SERVER_DAYS, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS, MAX_DAYS } from './validity.js';

// Peers whose clocks run a little behind ours would otherwise see a certificate "not yet valid".
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
// RFC 5280 section 4.1.2.2 allows 20 octets; 16 random bytes is what mkcert and the CA/B Forum's 64-bit
// minimum comfortably cover. The library makes the integer positive.
const SERIAL_BYTES = 16;
// ub-common-name in RFC 5280 appendix A.
const MAX_COMMON_NAME = 64;
const ORGANIZATION = 'tlsecho development certificate';
const DEFAULT_CA_NAME = 'tlsecho local CA';

/** A certificate and its key, in memory. `chainPem` (leaf then CA) is set on certificates issued by a CA. */
export interface GeneratedCertificate {
  certPem: string;
  keyPem: string;
  chainPem?: string;
  /** `sha256:` + 64 lowercase hex: the form `connect --pin` accepts. */
  fingerprint: string;
  /** RFC 4514 form, e.g. `CN=localhost, O=tlsecho development certificate`. */
  subject: string;
  /** DNS names first, then IP addresses. */
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  keyType: KeyType;
  isCa: boolean;
  serialNumber: string;
  /** Set when the validity asked for would have outlived the issuing CA, so it ends with the CA instead. */
  endsWithIssuer?: boolean;
}

export interface SelfSignedOptions {
  /** DNS names and IP addresses; default localhost, 127.0.0.1, ::1. */
  hosts?: readonly string[];
  /** Default: the first host. */
  cn?: string;
  days?: number;
  keyType?: KeyType;
}

export interface CaOptions {
  cn?: string;
  days?: number;
  keyType?: KeyType;
}

/** A CA certificate and its private key, as PEM (any form Node reads). Paths only label error messages. */
export interface IssuerPem {
  certPem: string;
  keyPem: string;
  certPath?: string;
  keyPath?: string;
}

export interface IssueOptions {
  issuer: IssuerPem;
  /** `server` gets serverAuth, `client` clientAuth (for mutual TLS). */
  kind: 'server' | 'client';
  /** Required for a server certificate (default localhost, 127.0.0.1, ::1); optional for a client one. */
  hosts?: readonly string[];
  /** Default: the first host, or `client` for a client certificate without hosts. */
  cn?: string;
  days?: number;
  keyType?: KeyType;
}

/**
 * A self-signed TLS server certificate: clients trust it by pinning its fingerprint or by using it as their CA.
 */
export async function generateSelfSigned(options: SelfSignedOptions = {}): Promise<GeneratedCertificate> {
  const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
  const sans = sortHosts(options.hosts ?? DEFAULT_HOSTS);
  const name = subjectName(options.cn ?? listHosts(sans)[0] ?? 'localhost');
  const validity = validityPeriod(options.days ?? DEFAULT_LEAF_DAYS);
  const keys = await generateKeyPair(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name,
    ...validity,
    keys: keys,
    signingAlgorithm: signingAlgorithmFor(keyType),
    extensions: [
      ...leafExtensions('server', keyType, sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return describeGenerated(cert, await exportPrivateKeyPem(keys.privateKey), keyType);
}

/** The fast default `serve` uses when given no certificate: ECDSA P-256 for localhost, 127.0.0.1 and ::1. */
export function generateEphemeralServerCert(): Promise<GeneratedCertificate> {
  return generateSelfSigned();
}

/** A local certificate authority: basicConstraints CA:true with pathLen 0, so it can sign leaves only. */
export async function generateCa(options: CaOptions = {}): Promise<GeneratedCertificate> {
  const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
  const name = subjectName(options.cn ?? DEFAULT_CA_NAME);
  const validity = validityPeriod(options.days ?? DEFAULT_CA_DAYS);
  const keys = await generateKeyPair(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name,
    ...validity,
    keys: keys,
    signingAlgorithm: signingAlgorithmFor(keyType),
    extensions: [
      // pathLen 0: this CA signs end-entity certificates, never another CA (mkcert's MaxPathLenZero).
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return describeGenerated(cert, await exportPrivateKeyPem(keys.privateKey), keyType);
}

/** A server or client certificate signed by `issuer`, with the chain (leaf + CA) alongside. */
export async function issueCertificate(options: IssueOptions): Promise<GeneratedCertificate> {
  const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
  const hosts = options.hosts ?? (options.kind === 'server' ? DEFAULT_HOSTS : []);
  const sans = hosts.length > 0 ? sortHosts(hosts) : { dns: [], ip: [] };
  const name = subjectName(options.cn ?? listHosts(sans)[0] ?? options.kind);
  const asked = validityPeriod(options.days ?? DEFAULT_LEAF_DAYS);
  const [issuer, keys] = await Promise.all([loadIssuer(options.issuer), generateKeyPair(keyType)]);
  // A chain stops verifying when its CA expires, so a leaf valid beyond that date would only pretend to be.
  const endsWithIssuer = asked.notAfter > issuer.cert.notAfter;
  const validity = endsWithIssuer ? { ...asked, notAfter: issuer.cert.notAfter } : asked;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: name,
    issuer: issuer.cert.subjectName,
    ...validity,
    publicKey: keys.publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: signingAlgorithmFor(issuer.keyType),
    extensions: [
      ...leafExtensions(options.kind, keyType, sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifier(issuer.cert),
    ],
  });
  const generated = describeGenerated(cert, await exportPrivateKeyPem(keys.privateKey), keyType);
  generated.chainPem = generated.certPem + issuer.cert.toString('pem') + '\n';
  if (endsWithIssuer) generated.endsWithIssuer = true;
  return generated;
}

function leafExtensions(kind: 'server' | 'client', keyType: KeyType, sans: SubjectAltNames): x509.Extension[] {
  // RSA key exchange (TLS 1.2 without ECDHE) encrypts to the key itself, hence keyEncipherment for RSA only
  // (RFC 5246 section 7.4.2; Go's crypto/tls and mkcert do the same).
  const usages = isRsaKeyType(keyType)
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension(
      [kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
  ];
  const names = [
    ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
    ...sans.ip.map((value) => ({ type: 'ip' as const, value: toX509IpText(value) })),
  ];
  if (names.length > 0) {
    const extension = new x509.SubjectAlternativeNameExtension(names, false);
    checkIpBytes(extension, sans.ip);
    extensions.push(extension);
  }
  return extensions;
}

// The library's own IPv6 parser knows `::` but not a dotted IPv4 tail: it encoded `::1.2.3.4` as ::1 and
// `::ffff:127.0.0.1` as ::ffff:127. Eight full hex groups are the one form it cannot misread.
function toX509IpText(address: string): string {
  const bytes = ipBytes(address);
  if (bytes.length === 4) return address;
  const groups: string[] = [];
  for (let index = 0; index < bytes.length; index += 2) {
    groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  }
  return groups.join(':');
}

// A certificate naming another address than the one asked for must never be written: decode the extension's
// DER again and compare each address's bytes with the parsed ones (a failure here is a bug, so a plain Error).
function checkIpBytes(extension: x509.SubjectAlternativeNameExtension, addresses: readonly string[]): void {
  const decoded = new x509.SubjectAlternativeNameExtension(extension.rawData).names.items
    .filter((name) => name.type === 'ip')
    .map((name) => parseIpAddress(name.value));
  addresses.forEach((address, index) => {
    const expected = Buffer.from(ipBytes(address));
    const actual = decoded[index];
    if (actual === undefined || !expected.equals(actual)) {
      throw new Error(`the subjectAltName for ${address} does not hold its ${expected.length} address bytes`);
    }
  });
}

function ipBytes(address: string): Uint8Array {
  const bytes = parseIpAddress(address);
  if (bytes === undefined) throw new Error(`not an IP address: ${address}`);
  return bytes;
}

async function authorityKeyIdentifier(issuerCert: x509.X509Certificate): Promise<x509.Extension> {
  // Reuse the CA's own key identifier when it has one, so chains built by other tools still link up.
  const ski = issuerCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey, false);
}

interface LoadedIssuer {
  cert: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  keyType: KeyType;
}

async function loadIssuer(issuer: IssuerPem): Promise<LoadedIssuer> {
  const certLabel = issuer.certPath ?? 'the CA certificate';
  const keyLabel = issuer.keyPath ?? 'the CA key';
  const nodeCert = new NodeX509Certificate(issuer.certPem);
  if (!nodeCert.ca) {
    throw new FileError(`${certLabel} is not a CA certificate (basicConstraints CA:true is missing)`, {
      hint: 'make a CA with tlsecho gencert --ca',
    });
  }
  if (Date.parse(nodeCert.validTo) <= Date.now()) {
    throw new FileError(`${certLabel} expired on ${new Date(nodeCert.validTo).toISOString()}`, {
      hint: 'make a new CA with tlsecho gencert --ca --force',
    });
  }
  if (!keyMatchesCertificate(issuer.certPem, issuer.keyPem)) {
    throw new FileError(`${keyLabel} does not match ${certLabel}: the key is not the CA's private key`, {
      code: 'ERR_KEY_MISMATCH',
    });
  }
  const { key, keyType } = await importSigningKey(createPrivateKey(issuer.keyPem), keyLabel);
  return { cert: new x509.X509Certificate(nodeCert.raw), signingKey: key, keyType };
}

function subjectName(cn: string): x509.JsonName {
  if (cn.length === 0 || cn.length > MAX_COMMON_NAME) {
    throw new UsageError(`invalid common name '${cn}': expected 1 to ${MAX_COMMON_NAME} characters`);
  }
  return [{ CN: [cn] }, { O: [ORGANIZATION] }];
}

function validityPeriod(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new UsageError(`invalid validity of ${days} days: expected a whole number from 1 to ${MAX_DAYS}`);
  }
  // X.509 times have whole seconds; rounding here keeps the returned dates equal to the certificate's.
  const now = Math.floor(Date.now() / 1000) * 1000;
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

function randomSerialNumber(): string {
  return randomBytes(SERIAL_BYTES).toString('hex');
}

function describeGenerated(cert: x509.X509Certificate, keyPem: string, keyType: KeyType): GeneratedCertificate {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem,
    fingerprint: fingerprintOfDer(new Uint8Array(cert.rawData)),
    subject: cert.subject,
    sans: san ? san.names.toJSON().map((name) => name.value) : [],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyType,
    isCa: basic?.ca ?? false,
    serialNumber: cert.serialNumber,
  };
}
