import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  createSecureContext,
  getCiphers,
  rootCertificates,
  type ConnectionOptions,
  type SecureContext,
  type SecureVersion,
  type TlsOptions,
} from 'node:tls';
import { UsageError } from '../errors.js';

/** TLS 1.2 is the floor: 1.0 and 1.1 are deprecated by RFC 8996. */
export type MinTlsVersion = '1.2' | '1.3';

export function parseMinTls(value: string | number): MinTlsVersion {
  const text = String(value)
    .trim()
    .replace(/^tlsv?/i, '');
  if (text === '1.2' || text === '1.3') return text;
  throw new UsageError(`invalid TLS version '${value}': use 1.2 or 1.3 (older versions are not offered)`);
}

// RFC 7301 section 3.1: a protocol name is 1 to 255 bytes. Node hands an empty one to OpenSSL, which
// aborts the whole process (a native assertion, exit 134) the moment the connection is set up.
const MAX_ALPN_NAME_BYTES = 255;

/** Checks `--alpn` names: each one 1 to 255 bytes (RFC 7301). Throws UsageError naming the bad one. */
export function parseAlpn(values: readonly (string | number)[]): string[] {
  return values.map((value) => {
    const name = String(value);
    const bytes = Buffer.byteLength(name);
    if (bytes === 0 || bytes > MAX_ALPN_NAME_BYTES) {
      const shown = bytes > 40 ? `${name.slice(0, 40)}…` : name;
      throw new UsageError(
        `invalid --alpn '${shown}': a protocol name is 1 to ${MAX_ALPN_NAME_BYTES} bytes (e.g. h2, http/1.1)`,
      );
    }
    return name;
  });
}

/** How the caller calls a certificate and its key: flags on the command line, option names in the library. */
export interface CertKeyNames {
  cert: string;
  key: string;
}

const FLAG_NAMES: CertKeyNames = { cert: '--cert', key: '--key' };

/**
 * A certificate and its private key go together: both or neither. The one place this rule is checked and
 * worded, for the command line's flags and the library's options alike. Throws a UsageError naming the two
 * as `names` does (default the flags).
 */
export function checkCertKeyPair(cert: unknown, key: unknown, names: CertKeyNames = FLAG_NAMES): void {
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(`${names.cert} and ${names.key} go together: pass both or neither`);
  }
}

/** `--max-tls`: the same two versions, parsed the same way. */
export function parseMaxTls(value: string | number): MinTlsVersion {
  return parseMinTls(value);
}

/**
 * `--ciphers`: TLS 1.2 cipher suites in OpenSSL's names, colon-separated (as `openssl s_client -cipher`
 * takes them). Checked against what this OpenSSL knows, so a typo is a usage error naming the suite rather
 * than a handshake that fails later. TLS 1.3 suites are not chosen this way (OpenSSL keeps them apart).
 */
export function parseCiphers(value: string): string {
  const names = value
    .split(':')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new UsageError(`invalid --ciphers '${value}': name at least one cipher suite`);
  const known = new Set(getCiphers());
  for (const name of names) {
    if (/^TLS_/i.test(name)) {
      throw new UsageError(
        `invalid --ciphers '${name}': a TLS 1.3 suite; --ciphers picks TLS 1.2 suites (e.g. ${TLS12_CIPHERS[0]})`,
      );
    }
    if (!known.has(name.toLowerCase())) {
      throw new UsageError(
        `invalid --ciphers '${name}': not a TLS 1.2 cipher suite OpenSSL knows (e.g. ${TLS12_CIPHERS[0]})`,
      );
    }
  }
  return names.map((name) => name.toUpperCase()).join(':');
}

function toSecureVersion(version: MinTlsVersion = '1.2'): SecureVersion {
  return version === '1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

/** What a client needs to reach and trust a server. PEM texts, not paths: loading files is the caller's job. */
export interface ClientTlsSettings {
  /** Extra trusted CA certificates, added to Node's bundled roots. */
  ca?: string[];
  /** `sha256:<hex>`: trust exactly the certificate with this fingerprint, whoever issued it. */
  pin?: string;
  /** Skip verification altogether; callers must warn on stderr. */
  insecure?: boolean;
  servername?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  minTls?: MinTlsVersion;
  /** The highest version to offer: `1.2` tests how a server treats an older client. */
  maxTls?: MinTlsVersion;
  /** TLS 1.2 suites to offer, colon-separated (`parseCiphers`); default: Node's. */
  ciphers?: string;
  alpn?: string[];
}

/**
 * Node options for a client socket. Verification is done by `verifyServer` after the handshake rather than by
 * `rejectUnauthorized`, so that a refusal can say why in one line and show the fingerprint that was seen;
 * nothing is sent before `verifyServer` has passed.
 */
export function buildClientTlsOptions(settings: ClientTlsSettings, host: string): ConnectionOptions {
  const options: ConnectionOptions = {
    minVersion: toSecureVersion(settings.minTls),
    rejectUnauthorized: false,
  };
  if (settings.maxTls !== undefined) options.maxVersion = toSecureVersion(settings.maxTls);
  if (settings.ciphers !== undefined) options.ciphers = settings.ciphers;
  // RFC 6066 forbids IP addresses in SNI; the host name check still uses the IP against IP SANs.
  const servername = settings.servername ?? (isIpAddress(host) ? undefined : host);
  if (servername !== undefined) options.servername = servername;
  // A pin (or --insecure) trusts no issuer, so the system roots need not be parsed at all.
  if (settings.pin !== undefined || settings.insecure) options.ca = [];
  if (settings.cert !== undefined) options.cert = settings.cert;
  if (settings.key !== undefined) options.key = settings.key;
  if (settings.passphrase !== undefined) options.passphrase = settings.passphrase;
  if (settings.alpn && settings.alpn.length > 0) options.ALPNProtocols = settings.alpn;
  if (options.ca === undefined && settings.ca && settings.ca.length > 0) {
    options.secureContext = secureContextTrusting(options, settings.ca);
  }
  return options;
}

/**
 * A client context that trusts Node's system store and `extraCa` besides (`--ca` adds trust; it does not narrow
 * it). Passing `ca` replaces the store, and passing it back in as `[...tls.rootCertificates, ...extraCa]` makes
 * OpenSSL parse some 140 certificates again on every run (60-70 ms of a one-shot `send`) and still loses
 * NODE_EXTRA_CA_CERTS, which `tls.rootCertificates` does not list. Node's default context shares the roots it
 * already parsed; `addCACert` is the call Node's own `createSecureContext` makes for each `ca` entry, and it
 * gives this context a copy of the bundled roots with the extra certificates added. That copy leaves out
 * NODE_EXTRA_CA_CERTS too (Node adds those to its shared store only), so they are added back here.
 */
function secureContextTrusting(options: ConnectionOptions, extraCa: readonly string[]): SecureContext {
  const context = createSecureContext(options);
  const native = (context as { context?: { addCACert?: (pem: string) => void } }).context;
  const trusted = [...extraCa, ...nodeExtraCaCertificates()];
  if (typeof native?.addCACert !== 'function') {
    return createSecureContext({ ...options, ca: [...rootCertificates, ...trusted] });
  }
  for (const pem of trusted) native.addCACert(pem);
  return context;
}

// Node reads NODE_EXTRA_CA_CERTS once at start-up and warns there if it cannot; a file that cannot be read
// now adds nothing, as in Node.
function nodeExtraCaCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (file === undefined || file === '') return [];
  try {
    return readFileSync(file, 'latin1').match(PEM_CERTIFICATE) ?? [];
  } catch {
    return [];
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** What a server needs: its identity, and optionally the CA that client certificates must chain to. */
export interface ServerTlsSettings {
  cert: string;
  key: string;
  passphrase?: string;
  /** Intermediate certificates sent after the leaf. */
  caChain?: string;
  /** When set, clients must present a certificate issued by this CA (mutual TLS). */
  clientCa?: string;
  minTls?: MinTlsVersion;
  alpn?: string[];
  handshakeTimeoutMs?: number;
}

/**
 * What the server accepts: the TLS 1.3 suites, and for TLS 1.2 only ECDHE with an AEAD cipher (Mozilla's
 * "intermediate" list without DHE). Node's default adds CBC suites, which testssl.sh flags (LUCKY13), and
 * CCM/ARIA ones no client needs.
 */
const SERVER_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The TLS 1.2 suites `serve` accepts: what `--ciphers` completes to. */
export const TLS12_CIPHERS: readonly string[] = SERVER_CIPHERS.split(':').filter(
  (name) => !name.startsWith('TLS_'),
);

export function buildServerTlsOptions(settings: ServerTlsSettings): TlsOptions {
  const options: TlsOptions = {
    cert: settings.caChain ? `${settings.cert.trimEnd()}\n${settings.caChain}` : settings.cert,
    key: settings.key,
    minVersion: toSecureVersion(settings.minTls),
    ciphers: SERVER_CIPHERS,
    // A TLS 1.2 client may otherwise ask for renegotiation, each one a full handshake of server CPU
    // (testssl.sh: "Secure Client-Initiated Renegotiation ... potential DoS threat"). Nothing needs it.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
  if (settings.passphrase !== undefined) options.passphrase = settings.passphrase;
  if (settings.clientCa !== undefined) {
    options.ca = settings.clientCa;
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  if (settings.alpn && settings.alpn.length > 0) options.ALPNProtocols = settings.alpn;
  if (settings.handshakeTimeoutMs !== undefined) options.handshakeTimeout = settings.handshakeTimeoutMs;
  return options;
}

function isIpAddress(host: string): boolean {
  return isIP(host) !== 0;
}
