import {
  ConnectionError,
  TimeoutError,
  TlsFailureError,
  isTlsechoError,
  type TlsechoError,
} from '../errors.js';

type SystemError = Error & { code?: string; syscall?: string; reason?: string };

/** What the client offered, so a refusal can be explained in the user's terms. */
interface HandshakeOffer {
  alpn?: string[];
  minTls?: string;
  maxTls?: string;
}

/**
 * Turns what a socket emitted into the typed error a user should see, naming the address. `phase` says how
 * far the connection got: a reset during the handshake is a TLS problem (often: not a TLS server).
 */
export function describeSocketError(
  error: unknown,
  target: string,
  phase: 'connect' | 'handshake' | 'session' = 'connect',
  offer: HandshakeOffer = {},
): TlsechoError {
  if (isTlsechoError(error)) return error;
  const err = error as SystemError;
  const code = err?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return new ConnectionError(`connection refused by ${target}`, {
        code: 'ERR_CONNECTION_REFUSED',
        hint: 'is a server listening there? (tlsecho serve --port N)',
        cause: error,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConnectionError(`cannot resolve the host name in ${target}`, {
        code: 'ERR_DNS',
        cause: error,
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new ConnectionError(`${target} is unreachable (${code})`, {
        code: 'ERR_UNREACHABLE',
        cause: error,
      });
    case 'EADDRINUSE':
      return new ConnectionError(`cannot listen on ${target}: address already in use`, {
        code: 'ERR_ADDRESS_IN_USE',
        hint: 'pick another --port, or --port 0 for a free one',
        cause: error,
      });
    case 'EACCES':
      return new ConnectionError(`cannot listen on ${target}: permission denied`, {
        code: 'ERR_ADDRESS_DENIED',
        hint: 'ports below 1024 need privileges; pick a higher --port',
        cause: error,
      });
    case 'ETIMEDOUT':
      return new TimeoutError(`connection to ${target} timed out`, { cause: error });
    case 'ECONNRESET':
    case 'EPIPE':
      return phase === 'handshake'
        ? new TlsFailureError(
            `${target} closed the connection during the TLS handshake: the server may be full (serve --max-connections), or refusing this client`,
            {
              code: 'ERR_HANDSHAKE_RESET',
              hint: 'try again later if the server is busy; otherwise, is it a TLS server, and does it accept this client (certificate, TLS version, PROXY header: --proxy-header)?',
              cause: error,
            },
          )
        : new ConnectionError(`connection to ${target} was reset`, {
            code: 'ERR_CONNECTION_RESET',
            cause: error,
          });
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return new TlsFailureError(`${target} did not answer with TLS`, {
        code: 'ERR_NOT_TLS',
        hint: 'is it a plain TCP service?',
        cause: error,
      });
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return new TlsFailureError(`${target} requires a client certificate`, {
        code: 'ERR_CLIENT_CERT_REQUIRED',
        hint: 'pass --cert FILE and --key FILE',
        cause: error,
      });
    // tlsecho serve refuses a client over --max-connections with this alert before the handshake (see
    // src/server/admission.ts); other servers send it when they fail for reasons of their own.
    case 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR':
      return new TlsFailureError(
        `${target} refused the connection: it is full or failing (TLS alert internal_error)`,
        {
          code: 'ERR_SERVER_REFUSED',
          hint: 'a tlsecho server sends this past --max-connections: try again later, or raise its limit',
          cause: error,
        },
      );
    // RFC 7301 section 3.2: a server that supports none of the client's protocols answers with this alert.
    case 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL':
      return new TlsFailureError(
        `${target} accepts none of the ALPN protocols offered (--alpn ${(offer.alpn ?? []).join(', ') || 'none'})`,
        { code: 'ERR_ALPN_MISMATCH', cause: error },
      );
    // RFC 8446 section 6.2: no version both sides accept.
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
      return new TlsFailureError(`${target} accepts no TLS version offered (${offeredVersions(offer)})`, {
        code: 'ERR_TLS_VERSION',
        cause: error,
      });
    default:
      if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || err?.reason !== undefined) {
        const why = (err.reason ?? err.message ?? code).toString().toLowerCase();
        return new TlsFailureError(`TLS handshake with ${target} failed: ${why}`, {
          code: 'ERR_HANDSHAKE',
          cause: error,
        });
      }
      return new ConnectionError(`connection to ${target} failed: ${err?.message ?? String(error)}`, {
        code: 'ERR_CONNECTION',
        cause: error,
      });
  }
}

function offeredVersions(offer: HandshakeOffer): string {
  const min = offer.minTls ?? '1.2';
  const max = offer.maxTls ?? '1.3';
  const versions = min === max ? `TLS ${min} only` : `TLS ${min} to ${max}`;
  // Name the flag that narrowed the offer; --min-tls 1.2 is the default and narrows nothing.
  if (offer.maxTls === '1.2') return `${versions}, --max-tls 1.2`;
  if (min === '1.3') return `${versions}, --min-tls 1.3`;
  return versions;
}
