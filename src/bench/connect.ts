import { connect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { TimeoutError, TlsFailureError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { buildClientTlsOptions, type ClientTlsSettings } from '../tls/options.js';
import { verifyServer } from '../tls/verify.js';
import { formatDuration } from '../units.js';
import type { BenchTarget } from './options.js';

/** How every connection of a thread reaches and trusts the server. */
export interface Dialer {
  /** Opens a TLS connection and verifies the server; resolves once it is safe to send. */
  open(): Promise<{ socket: TLSSocket; handshakeMs: number }>;
}

/**
 * One secure context for all the connections of a thread: passing `ca`, `cert` or `key` to every
 * `tls.connect` would parse the certificates (and the whole root store, with `--ca`) once per connection,
 * which is what a handshake benchmark must not measure.
 */
export function createDialer(target: BenchTarget, settings: ClientTlsSettings, timeoutMs: number): Dialer {
  const { servername, ALPNProtocols, ...contextOptions } = buildClientTlsOptions(settings, target.host);
  const secureContext = createSecureContext(contextOptions);
  const connectOptions: ConnectionOptions = {
    host: target.host,
    port: target.port,
    secureContext,
    // Checked by verifyServer after the handshake, so a refusal can say why (see tls/options.ts).
    rejectUnauthorized: false,
    ...(servername === undefined ? {} : { servername }),
    ...(ALPNProtocols === undefined ? {} : { ALPNProtocols }),
  };
  return {
    open: () => openSocket(connectOptions, settings, target.label, timeoutMs),
  };
}

function openSocket(
  options: ConnectionOptions,
  settings: ClientTlsSettings,
  label: string,
  timeoutMs: number,
): Promise<{ socket: TLSSocket; handshakeMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let phase: 'connect' | 'handshake' = 'connect';
    const socket = connect(options);
    const fail = (error: unknown) => {
      cleanup();
      socket.destroy();
      reject(describeSocketError(error, label, phase));
    };
    const onConnect = () => {
      phase = 'handshake';
    };
    const onTimeout = () =>
      fail(new TimeoutError(`TLS handshake with ${label} timed out after ${formatDuration(timeoutMs)}`));
    const onClose = () =>
      fail(
        new TlsFailureError(`${label} closed the connection during the TLS handshake`, {
          code: 'ERR_HANDSHAKE_RESET',
        }),
      );
    const onSecure = () => {
      const handshakeMs = performance.now() - started;
      cleanup();
      const refusal = verifyServer(socket, settings, label);
      if (refusal) {
        socket.destroy();
        reject(refusal);
        return;
      }
      resolve({ socket, handshakeMs });
    };
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('error', fail);
      socket.off('timeout', onTimeout);
      socket.off('close', onClose);
      socket.off('secureConnect', onSecure);
    };
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs);
    socket.on('connect', onConnect);
    socket.on('error', fail);
    socket.on('timeout', onTimeout);
    socket.on('close', onClose);
    socket.on('secureConnect', onSecure);
  });
}
