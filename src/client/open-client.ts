import type { PacketMode } from '../codec/limits.js';
import { startSpinner, type Io } from '../io.js';
import type { Logger } from '../log/logger.js';
import { connectFramed } from './dial.js';
import type { FramedClient } from './framed-client.js';
import { localProxyHeader, type ProxyHeaderVersion } from './proxy-header.js';
import { formatTarget, type Target } from './target.js';
import type { ClientTlsSettings } from '../tls/options.js';
import { describeCertificate, validityProblem } from '../certs/inspect.js';
import { warnIfInsecure, warnPlain, type ClientTlsFlags } from './tls-settings.js';
import { escapeControls } from '../escape.js';

/** What every client command needs to reach a server. */
export interface ClientConnectionOptions {
  target: Target;
  tls: ClientTlsFlags;
  packet: PacketMode;
  maxFrame: number;
  connectTimeoutMs: number;
  /** Open the connection with a PROXY protocol header (LOCAL), for a server behind a balancer. */
  proxyHeader?: ProxyHeaderVersion;
  /**
   * Plain TCP, no TLS (`--plain`), for Erlang `gen_tcp` services in a trusted network. `tls` must then be
   * empty: the command line refuses TLS flags with `--plain`.
   */
  plain?: boolean;
}

interface OpenClientOptions {
  signal?: AbortSignal;
  /** Ends the attempt only, not the connection it makes (see `ConnectFramedOptions.attemptSignal`). */
  attemptSignal?: AbortSignal;
  /** Show a spinner while connecting (it still passes the `canShowSpinner` gate). */
  spinner?: boolean;
  /** Passed to the spinner gate: no spinner with `--json`. */
  json?: boolean;
  /**
   * Print the `--insecure`/`--plain` warning and the pinned certificate's date warning (default true): a
   * command opening many connections, or opening one again, warns once.
   */
  warn?: boolean;
}

/**
 * Warns when verification is off, then connects, with a spinner on a terminal. The spinner stops before
 * anything else is printed.
 */
export async function openClient(
  options: ClientConnectionOptions,
  tls: ClientTlsSettings,
  io: Io,
  log: Logger,
  extra: OpenClientOptions = {},
): Promise<FramedClient> {
  if (extra.warn ?? true) {
    warnIfInsecure(tls, log);
    if (options.plain) warnPlain(log);
  }
  const target = formatTarget(options.target);
  const spinner = extra.spinner
    ? startSpinner(io, `connecting to ${target}`, { json: extra.json })
    : undefined;
  try {
    const client = await connectFramed({
      ...options.target,
      tls,
      packet: options.packet,
      maxFrame: options.maxFrame,
      connectTimeoutMs: options.connectTimeoutMs,
      signal: extra.signal,
      attemptSignal: extra.attemptSignal,
      proxyHeader: options.proxyHeader === undefined ? undefined : localProxyHeader(options.proxyHeader),
      plain: options.plain,
    });
    spinner?.stop();
    if (extra.warn ?? true) warnIfPinnedCertificateOutOfDate(client, options.tls, log);
    return client;
  } catch (error) {
    spinner?.stop();
    throw error;
  }
}

/**
 * The one-line summary of a connection:
 * `connected to HOST:PORT: TLSv1.3, CIPHER[, ALPN name], CN=…, sha256:…, verified`, or for `--plain`
 * `connected to HOST:PORT: plain TCP, NOT encrypted (--plain)`.
 */
export function describeConnection(client: FramedClient, tls: ClientTlsFlags): string {
  const peer = client.peer;
  if (peer.encrypted === false) return `connected to ${client.target}: plain TCP, NOT encrypted (--plain)`;
  const trust = tls.insecure ? 'NOT verified (--insecure)' : tls.pin ? 'verified (pinned)' : 'verified';
  // The server chose its certificate's subject: escaped, so it cannot write lines of its own.
  const subject = peer.subject ? `CN=${escapeControls(peer.subject)}` : 'no subject CN';
  const alpn = peer.alpn ? `, ALPN ${peer.alpn}` : '';
  return `connected to ${client.target}: ${peer.protocol ?? 'TLS'}, ${peer.cipher}${alpn}, ${subject}, ${peer.fingerprint}, ${trust}`;
}

/**
 * `-v`: what `openssl s_client -showcerts` would tell about the server, a line each: the negotiated
 * protocol, cipher and ALPN, then each certificate of its chain (leaf first) with subject, issuer, names,
 * validity and fingerprint.
 */
export function logPeerDetails(
  client: FramedClient,
  tls: ClientTlsFlags,
  log: Logger,
  now = new Date(),
): void {
  if (!log.enabled('verbose')) return;
  const peer = client.peer;
  // A plain connection negotiated nothing and showed no certificate: describeConnection says it all.
  if (peer.encrypted === false) return;
  const offered = tls.alpn && tls.alpn.length > 0 ? ` (offered ${tls.alpn.join(', ')})` : '';
  log.verbose(
    `negotiated ${peer.protocol ?? 'TLS'}, cipher ${peer.cipher}, ALPN ${peer.alpn || 'none'}${offered}`,
    { event: 'tls', protocol: peer.protocol, cipher: peer.cipher, alpn: peer.alpn || null },
  );
  const chain = peer.chain.map((der) => describeCertificate(der));
  log.verbose(`certificate chain of ${client.target}, leaf first (${chain.length}):`, {
    event: 'chain',
    length: chain.length,
  });
  chain.forEach((certificate, depth) => {
    const validity = validityProblem(certificate, now);
    const fields = {
      event: 'certificate',
      depth,
      subject: certificate.subject,
      issuer: certificate.issuer,
      names: certificate.sans,
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
      fingerprint: certificate.fingerprint,
    };
    const lines = [
      `${depth} subject: ${escapeControls(certificate.subject)}`,
      `  issuer:  ${escapeControls(certificate.issuer)}${certificate.selfSigned ? ' (self-signed)' : ''}`,
      ...(certificate.sans.length > 0 ? [`  names:   ${escapeControls(certificate.sans.join(', '))}`] : []),
      `  valid:   ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}${validity === undefined ? '' : validity.startsWith('expired') ? ' (EXPIRED)' : ' (NOT VALID YET)'}`,
      `  ${certificate.fingerprint}`,
    ];
    // Under --json, one line per certificate with every field; on a terminal, the block above.
    if (log.json) log.verbose(`certificate ${depth}: ${escapeControls(certificate.subject)}`, fields);
    else for (const line of lines) log.verbose(`  ${line}`);
  });
}

/**
 * A pin trusts one certificate whatever its dates; say so when those dates exclude today, since every
 * client that verifies normally refuses it.
 */
function warnIfPinnedCertificateOutOfDate(
  client: FramedClient,
  tls: ClientTlsFlags,
  log: Logger,
  now = new Date(),
): void {
  if (client.peer.encrypted === false) return;
  const leaf = client.peer.chain[0];
  if (tls.pin === undefined || leaf === undefined) return;
  const problem = validityProblem(describeCertificate(leaf), now);
  if (problem) {
    log.warn(`the pinned certificate of ${client.target} ${problem}; trusted only because it matches --pin`, {
      event: 'certificate-dates',
      problem,
    });
  }
}
