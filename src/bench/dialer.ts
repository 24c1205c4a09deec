import { connect as connectTcp, type OnReadOpts, type Socket } from 'node:net';
import { connect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { localProxyHeader } from '../client/proxy-header.js';
import { TimeoutError, TlsFailureError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { buildClientTlsOptions, type ClientTlsSettings } from '../tls/options.js';
import { verifyServer } from '../tls/verify.js';
import { formatDuration } from '../units.js';
import type { BenchTarget } from './options.js';
import { ReadRelay } from './read-relay.js';

/** A verified TLS connection (or, with `target.plain`, a TCP connection), ready to send. */
export interface OpenedSocket {
  socket: Socket;
  /** Until the TLS session was verified; for a plain connection, until TCP connected. */
  handshakeMs: number;
  /**
   * Where its reads go, when they are read into a reused buffer (see ReadRelay); undefined when they come
   * as `'data'` events instead: always so over a PROXY header, since Node takes `onread` only for a socket
   * it connects itself.
   */
  reads: ReadRelay | undefined;
}

/** How every connection of a thread reaches and trusts the server. */
export interface Dialer {
  /** Opens a TLS connection and verifies the server; resolves once it is safe to send. */
  open(): Promise<OpenedSocket>;
}

/**
 * One secure context for all the connections of a thread: passing `ca`, `cert` or `key` to every
 * `tls.connect` would parse the certificates (and the whole root store, with `--ca`) once per connection,
 * which is what a handshake benchmark must not measure.
 */
export function createDialer(
  target: BenchTarget,
  settings: ClientTlsSettings,
  timeoutMs: number,
  options: { reuseReadBuffer: boolean },
): Dialer {
  if (target.plain) return createPlainDialer(target, timeoutMs, options);
  const { servername, ALPNProtocols, ...contextOptions } = buildClientTlsOptions(settings, target.host);
  const secureContext = contextOptions.secureContext ?? createSecureContext(contextOptions);
  const connectOptions: ConnectionOptions = {
    host: target.host,
    port: target.port,
    secureContext,
    // Checked by verifyServer after the handshake, so a refusal can say why (see tls/options.ts).
    rejectUnauthorized: false,
    ...(servername === undefined ? {} : { servername }),
    ...(ALPNProtocols === undefined ? {} : { ALPNProtocols }),
  };
  const proxyHeader = target.proxyHeader === undefined ? undefined : localProxyHeader(target.proxyHeader);
  return {
    open: async () => {
      const started = performance.now();
      if (proxyHeader === undefined) {
        const reads = options.reuseReadBuffer ? new ReadRelay() : undefined;
        // tls.connect takes `onread` as net.connect does (nodejs/node#35753); @types/node does not declare it.
        const readingOptions: ConnectionOptions & { onread?: OnReadOpts } = reads
          ? { ...connectOptions, onread: reads.options }
          : connectOptions;
        const opened = await openSocket(readingOptions, settings, target.label, timeoutMs, started);
        return { ...opened, reads };
      }
      const tcp = await sendProxyHeader(target, proxyHeader, timeoutMs);
      const opened = await openSocket(
        { ...connectOptions, socket: tcp },
        settings,
        target.label,
        timeoutMs,
        started,
      );
      return { ...opened, reads: undefined };
    },
  };
}

/**
 * A TCP connection that has sent the PROXY protocol header, ready for the TLS handshake: the header must
 * reach the server before the ClientHello, as it would from a balancer.
 */
function sendProxyHeader(target: BenchTarget, header: Buffer, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tcp = connectTcp({ host: target.host, port: target.port, noDelay: true });
    const fail = (error: unknown) => {
      cleanup();
      tcp.destroy();
      reject(describeSocketError(error, target.label, 'connect'));
    };
    const onTimeout = () =>
      fail(new TimeoutError(`connecting to ${target.label} timed out after ${formatDuration(timeoutMs)}`));
    const cleanup = () => {
      tcp.off('error', fail);
      tcp.off('timeout', onTimeout);
      tcp.setTimeout(0);
    };
    tcp.setTimeout(timeoutMs);
    tcp.on('error', fail);
    tcp.on('timeout', onTimeout);
    tcp.once('connect', () =>
      tcp.write(header, (error) => {
        if (error) return; // 'error' follows, and fails the connection
        // The TLS socket takes over the error handling in the same turn, before any event can fire.
        cleanup();
        resolve(tcp);
      }),
    );
  });
}

function openSocket(
  options: ConnectionOptions,
  settings: ClientTlsSettings,
  label: string,
  timeoutMs: number,
  started: number,
): Promise<{ socket: TLSSocket; handshakeMs: number }> {
  return new Promise((resolve, reject) => {
    // Over a socket that is already connected (after a PROXY header), only the handshake is left.
    let phase: 'connect' | 'handshake' = options.socket === undefined ? 'connect' : 'handshake';
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

/** `--plain`: TCP connections without TLS, with the same timeout, PROXY header and read buffer handling. */
function createPlainDialer(
  target: BenchTarget,
  timeoutMs: number,
  options: { reuseReadBuffer: boolean },
): Dialer {
  const proxyHeader = target.proxyHeader === undefined ? undefined : localProxyHeader(target.proxyHeader);
  return {
    open: async () => {
      const started = performance.now();
      if (proxyHeader !== undefined) {
        const socket = await sendProxyHeader(target, proxyHeader, timeoutMs);
        // As on a TLS connection: the drivers take the socket's timeout as the reply timeout.
        socket.setTimeout(timeoutMs);
        return { socket, handshakeMs: performance.now() - started, reads: undefined };
      }
      const reads = options.reuseReadBuffer ? new ReadRelay() : undefined;
      const socket = await new Promise<Socket>((resolve, reject) => {
        const tcp = connectTcp({
          host: target.host,
          port: target.port,
          noDelay: true,
          ...(reads ? { onread: reads.options } : {}),
        });
        const fail = (error: unknown) => {
          cleanup();
          tcp.destroy();
          reject(describeSocketError(error, target.label, 'connect'));
        };
        const onTimeout = () =>
          fail(
            new TimeoutError(`connecting to ${target.label} timed out after ${formatDuration(timeoutMs)}`),
          );
        const cleanup = () => {
          tcp.off('error', fail);
          tcp.off('timeout', onTimeout);
        };
        tcp.setTimeout(timeoutMs);
        tcp.on('error', fail);
        tcp.on('timeout', onTimeout);
        tcp.once('connect', () => {
          cleanup();
          resolve(tcp);
        });
      });
      return { socket, handshakeMs: performance.now() - started, reads };
    },
  };
}
