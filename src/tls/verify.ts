import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { TlsFailureError } from '../errors.js';
import { escapeControls } from '../escape.js';
import { fingerprintOfDer } from '../certs/fingerprint.js';
import type { ClientTlsSettings } from './options.js';

/** What the client saw of the server, for the one-line summary and `--json` results. */
export type PeerSummary = TlsPeerSummary | PlainPeerSummary;

/** A plain TCP connection (`--plain`): nothing was negotiated, verified or encrypted. */
export interface PlainPeerSummary {
  encrypted: false;
  verified: false;
}

export const PLAIN_PEER: PlainPeerSummary = Object.freeze({ encrypted: false, verified: false });

/** A TLS connection: what was negotiated, and the server's certificate. Code that reads a summary treats only `encrypted: false` as plain. */
export interface TlsPeerSummary {
  encrypted: true;
  protocol: string | null;
  cipher: string;
  subject: string;
  issuer: string;
  fingerprint: string;
  validTo: string;
  verified: boolean;
  alpn: string | false;
  /**
   * The server's chain as DER, leaf first: what it sent, completed by OpenSSL from the trusted CAs (so the
   * root from --ca shows too), as `openssl s_client -showcerts` lists it.
   */
  chain: Buffer[];
}

export function summarisePeer(socket: TLSSocket, verified: boolean): TlsPeerSummary {
  const cert = socket.getPeerCertificate();
  return {
    encrypted: true,
    chain: peerChain(socket),
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? 'unknown',
    subject: firstOf(cert.subject?.CN),
    issuer: firstOf(cert.issuer?.CN),
    fingerprint: cert.raw ? fingerprintOfDer(cert.raw) : '',
    validTo: cert.valid_to ?? '',
    verified,
    alpn: socket.alpnProtocol ?? false,
  };
}

/** Who a verified client certificate names, as the server's logs and handlers see it. */
export interface ClientCertificateIdentity {
  /** The subject common name, when it has one. */
  commonName: string | undefined;
  /** The subject as `CN=alice, O=example`. */
  subject: string;
  /** `sha256:` + 64 lowercase hex of the certificate. */
  fingerprint: string;
}

/** The client's certificate, on the server's side of a connection; undefined when it sent none. */
export function identifyClient(socket: TLSSocket): ClientCertificateIdentity | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return undefined;
  const subject = cert.subject ?? {};
  const commonName = subject.CN;
  return {
    commonName: Array.isArray(commonName) ? commonName[0] : commonName,
    subject: Object.entries(subject)
      .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
      .join(', '),
    fingerprint: fingerprintOfDer(cert.raw),
  };
}

// Node links each certificate to its issuer; a self-signed root links to itself.
function peerChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !chain.some((seen) => seen.equals(cert!.raw))) {
    chain.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return chain;
}

// A certificate may carry several CNs; Node then gives an array.
function firstOf(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * Decides, after the handshake and before any byte is sent, whether to trust the server: by pin when one is
 * given, otherwise by Node's chain and host name checks. Returns the refusal, or undefined to go on.
 */
export function verifyServer(
  socket: TLSSocket,
  settings: ClientTlsSettings,
  target: string,
): TlsFailureError | undefined {
  if (settings.insecure) return undefined;
  const cert = socket.getPeerCertificate();
  const seen = cert.raw ? fingerprintOfDer(cert.raw) : '(no certificate)';
  if (settings.pin !== undefined) {
    if (seen === settings.pin) return undefined;
    return new TlsFailureError(`certificate of ${target} does not match the pin: saw ${seen}`, {
      code: 'ERR_PIN_MISMATCH',
      hint: `expected ${settings.pin}`,
    });
  }
  if (socket.authorized) return undefined;
  const reason = String(socket.authorizationError ?? 'unknown verification error');
  // The name Node checked: --servername when given, otherwise the host of the target.
  const checkedName = settings.servername ?? target.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return describeVerificationFailure(reason, target, seen, cert.valid_to, cert.subjectaltname, checkedName);
}

function describeVerificationFailure(
  reason: string,
  target: string,
  seen: string,
  validTo: string | undefined,
  altNames: string | undefined,
  checkedName: string,
): TlsFailureError {
  const trustHint = `pass --ca FILE to trust its issuer, or --pin ${seen} to trust this certificate`;
  switch (reason) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return new TlsFailureError(`certificate of ${target} is self-signed and not trusted (${seen})`, {
        code: 'ERR_CERT_UNTRUSTED',
        hint: trustHint,
      });
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return new TlsFailureError(`certificate of ${target} was issued by an untrusted CA (${seen})`, {
        code: 'ERR_CERT_UNTRUSTED',
        hint: trustHint,
      });
    case 'CERT_HAS_EXPIRED':
      return new TlsFailureError(
        `certificate of ${target} expired on ${validTo ?? 'an earlier date'} (${seen})`,
        {
          code: 'ERR_CERT_EXPIRED',
        },
      );
    case 'CERT_NOT_YET_VALID':
      return new TlsFailureError(`certificate of ${target} is not valid yet (${seen})`, {
        code: 'ERR_CERT_NOT_YET_VALID',
      });
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new TlsFailureError(
        `certificate of ${target} does not cover the host name ${checkedName} (it covers ${altNames === undefined ? 'no names' : escapeControls(altNames)})`,
        { code: 'ERR_CERT_HOSTNAME', hint: 'connect by a covered name, or set --servername' },
      );
    default:
      return new TlsFailureError(`certificate of ${target} failed verification: ${reason} (${seen})`, {
        code: 'ERR_CERT_INVALID',
      });
  }
}
