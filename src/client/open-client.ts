import type { PacketMode } from '../codec/limits.js';
import type { Io, Logger } from '../cli/io.js';
import { startSpinner } from '../cli/spinner.js';
import { connectFramed, type FramedClient } from './connect.js';
import { localProxyHeader, type ProxyHeaderVersion } from './proxy-header.js';
import { formatTarget, type Target } from './target.js';
import type { ClientTlsSettings } from '../tls/options.js';
import { warnIfInsecure, type ClientTlsFlags } from './tls-settings.js';
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
}

export interface OpenClientOptions {
  signal?: AbortSignal;
  /** Show a spinner while connecting (it still passes the `canShowSpinner` gate). */
  spinner?: boolean;
  /** Passed to the spinner gate: no spinner with `--json`. */
  json?: boolean;
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
  warnIfInsecure(tls, log);
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
      proxyHeader: options.proxyHeader === undefined ? undefined : localProxyHeader(options.proxyHeader),
    });
    spinner?.stop();
    return client;
  } catch (error) {
    spinner?.stop();
    throw error;
  }
}

/**
 * The one-line summary of a connection: `connected to HOST:PORT: TLSv1.3, CIPHER, CN=…, sha256:…, verified`.
 */
export function describeConnection(client: FramedClient, tls: ClientTlsFlags): string {
  const peer = client.peer;
  const trust = tls.insecure ? 'NOT verified (--insecure)' : tls.pin ? 'verified (pinned)' : 'verified';
  // The server chose its certificate's subject: escaped, so it cannot write lines of its own.
  const subject = peer.subject ? `CN=${escapeControls(peer.subject)}` : 'no subject CN';
  return `connected to ${client.target}: ${peer.protocol ?? 'TLS'}, ${peer.cipher}, ${subject}, ${peer.fingerprint}, ${trust}`;
}
