/**
 * tlsecho as a library: the framing codec, certificate utilities, TLS helpers, the server, the framed client
 * and the Erlang term codec that the CLI is built on.
 */
export * from './codec/index.js';
export * from './errors.js';
export { ExitCode, EXIT_CODE_MEANINGS } from './exit-codes.js';
export { parseDuration, parseSize, formatDuration, formatSize } from './units.js';
export { fingerprintOfDer, fingerprintOfPem } from './certs/fingerprint.js';
export * from './certs/index.js';
export {
  buildClientTlsOptions,
  buildServerTlsOptions,
  parseMinTls,
  type ClientTlsSettings,
  type MinTlsVersion,
  type ServerTlsSettings,
} from './tls/options.js';
export {
  verifyServer,
  summarisePeer,
  PLAIN_PEER,
  type PeerSummary,
  type TlsPeerSummary,
  type PlainPeerSummary,
} from './tls/verify.js';
export { describeSocketError } from './tls/errors.js';
export * from './server/index.js';
export { connectFramed, DEFAULT_CONNECT_TIMEOUT_MS, type ConnectFramedOptions } from './client/dial.js';
export { FramedClient, type ConnectTimings, type ClientCounters } from './client/framed-client.js';
export { parseTarget, formatTarget, type Target } from './client/target.js';
export { frameToJson, type FrameJson } from './client/output.js';
export { loadClientTlsSettings, type ClientTlsFlags } from './client/tls-settings.js';
export { send as sendMessages, type SendOptions, type SendResult } from './client/send.js';
// For a client that must open its connection the way a balancer does (ConnectFramedOptions.proxyHeader).
export { encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxiedAddresses } from './proxy-protocol/encode.js';
export * as etf from './etf/index.js';
