import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** Why a handshake failed, in words a log reader can act on. */
export type HandshakeFailureKind =
  | 'handshake-timeout'
  | 'not-tls'
  | 'unsupported-version'
  | 'client-certificate-missing'
  | 'client-certificate-rejected'
  | 'reset'
  | 'failed';

export interface HandshakeFailure {
  kind: HandshakeFailureKind;
  remoteAddress: string;
  remotePort: number;
  /** One line, e.g. `the client sent something that is not TLS`. */
  reason: string;
  /** Node's or OpenSSL's code, e.g. `ERR_SSL_WRONG_VERSION_NUMBER`. */
  code: string;
}

type TlsError = Error & { code?: string; reason?: string };

const DESCRIPTIONS: Record<HandshakeFailureKind, string> = {
  'handshake-timeout': 'the client did not complete the TLS handshake in time',
  'not-tls': 'the client sent something that is not TLS',
  'unsupported-version': 'the client offered no TLS version the server accepts (see --min-tls)',
  'client-certificate-missing': 'the client sent no certificate (--client-ca requires one)',
  'client-certificate-rejected':
    'the client certificate was refused: not issued by the --client-ca, or not valid',
  reset: 'the client closed the connection during the handshake',
  failed: 'TLS handshake failed',
};

/**
 * Sorts a `tlsClientError` into the few cases an operator meets. `tcpSocket` is the connection under the
 * TLS socket, which still knows the peer's address after the TLS socket has been destroyed.
 */
export function classifyHandshakeFailure(
  error: TlsError,
  socket: TLSSocket | undefined,
  tcpSocket?: Socket,
): HandshakeFailure {
  // Node checks a client certificate after OpenSSL's handshake and, refusing it, destroys the socket: the
  // error is then a plain hang-up, and the socket's authorizationError holds the real reason.
  const refusedCertificate = socket?.authorizationError;
  const code = refusedCertificate ? String(refusedCertificate) : (error.code ?? '');
  const kind = refusedCertificate ? 'client-certificate-rejected' : kindOf(code, error);
  let detail = '';
  if (kind === 'failed') detail = `: ${(error.reason ?? error.message).toLowerCase()}`;
  if (refusedCertificate) detail = ` (${code})`;
  return {
    kind,
    remoteAddress: socket?.remoteAddress ?? tcpSocket?.remoteAddress ?? '',
    remotePort: socket?.remotePort ?? tcpSocket?.remotePort ?? 0,
    reason: DESCRIPTIONS[kind] + detail,
    code,
  };
}

function kindOf(code: string, error: TlsError): HandshakeFailureKind {
  switch (code) {
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'handshake-timeout';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_HTTPS_PROXY_REQUEST':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_RECORD_LAYER_FAILURE':
      return 'not-tls';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
    case 'ERR_SSL_VERSION_TOO_LOW': // an SSLv3 ClientHello, as OpenSSL 3 reports it
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
      return 'unsupported-version';
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'client-certificate-missing';
    case 'ERR_SSL_CERTIFICATE_VERIFY_FAILED':
    case 'ERR_SSL_NO_CERTIFICATE_RETURNED':
      return 'client-certificate-rejected';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return /socket hang up|disconnected before secure/i.test(error.message) ? 'reset' : 'failed';
  }
}
