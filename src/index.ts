/**
 * tlsecho as a library: the framing codec, certificate utilities and TLS helpers that the CLI is built on.
 */
export * from './codec/index.js';
export * from './errors.js';
export { ExitCode, EXIT_CODE_MEANINGS } from './exit-codes.js';
export { parseDuration, parseSize, formatDuration, formatSize } from './units.js';
export { fingerprintOfDer, fingerprintOfPem, parsePin } from './certs/fingerprint.js';
export {
  buildClientTlsOptions,
  buildServerTlsOptions,
  parseMinTls,
  type ClientTlsSettings,
  type MinTlsVersion,
  type ServerTlsSettings,
} from './tls/options.js';
export { verifyServer, summarisePeer, type PeerSummary } from './tls/verify.js';
export { describeSocketError } from './tls/errors.js';
