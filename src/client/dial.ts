import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { createFraming } from '../codec/framing.js';
import { defaultMaxFrame, type PacketMode } from '../codec/limits.js';
import { ConnectionError, TimeoutError, TlsFailureError, type TlsechoError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { buildClientTlsOptions, type ClientTlsSettings } from '../tls/options.js';
import { PLAIN_PEER, summarisePeer, verifyServer } from '../tls/verify.js';
import { formatDuration } from '../units.js';
import { abortReason } from './deadline.js';
import { FramedClient } from './framed-client.js';
import { formatTarget, type Target } from './target.js';

import { DEFAULT_CONNECT_TIMEOUT_MS } from './defaults.js';

export { DEFAULT_CONNECT_TIMEOUT_MS };

export interface ConnectFramedOptions extends Target {
  /** Trust and identity; verification is on unless `insecure` is set. */
  tls?: ClientTlsSettings;
  /** `{packet, N}` header size or `line`; default 4. */
  packet?: PacketMode;
  /** Largest frame sent or accepted; default as `defaultMaxFrame(packet)`. */
  maxFrame?: number;
  /** Bounds TCP connect plus TLS handshake; default 10 s. */
  connectTimeoutMs?: number;
  /** Aborting fails the connection attempt, or destroys the connection, with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Aborting fails the connection attempt only; the connection it made is not bound to it. For a
   * reconnection that the user may give up (Ctrl-D) while a session they are still ending goes on.
   */
  attemptSignal?: AbortSignal;
  /**
   * Written on the TCP connection before the TLS handshake, as a load balancer would: a PROXY protocol
   * header (`encodeProxyHeaderV2()`) for a server that requires one. The connect timeout covers it.
   */
  proxyHeader?: Buffer;
  /**
   * Speak the frames over plain TCP, without TLS, as to an Erlang `gen_tcp` service in a trusted network:
   * nothing is encrypted or verified, and `tls` is not used. Never the default.
   */
  plain?: boolean;
}

/**
 * Opens a TLS connection and speaks `{packet, N}` (or line) frames over it. Resolves only once the server
 * has been verified (`verifyServer`): nothing can be sent to a server we refuse to trust.
 *
 * Failures are typed: refused or unreachable → ConnectionError, handshake or verification → TlsFailureError
 * (one line, with the fingerprint that was seen), no answer in time → TimeoutError.
 */
export function connectFramed(options: ConnectFramedOptions): Promise<FramedClient> {
  if (options.plain) return connectPlain(options);
  const target = formatTarget(options);
  const settings = options.tls ?? {};
  const packet = options.packet ?? 4;
  const framing = createFraming(packet, options.maxFrame ?? defaultMaxFrame(packet));
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const signal = options.signal;
  const attemptSignal = signalOfAttempt(options);
  if (attemptSignal?.aborted) return Promise.reject(abortReason(attemptSignal));

  const started = performance.now();
  const settingsError = (error: unknown) =>
    new TlsFailureError(`cannot set up TLS for ${target}: ${(error as Error).message}`, {
      code: 'ERR_TLS_SETTINGS',
      cause: error,
    });
  const proxyHeader = options.proxyHeader;
  let tlsOptions: ConnectionOptions;
  // Without a header to write first, TLS starts with the TCP connection; with one, once it is written.
  let socket: TLSSocket | undefined;
  let tcpSocket: Socket | undefined;
  try {
    tlsOptions = buildClientTlsOptions(settings, options.host);
    if (proxyHeader) {
      // Built now, as tls.connect would, so that a certificate we cannot use fails before connecting.
      tlsOptions = {
        ...tlsOptions,
        secureContext: tlsOptions.secureContext ?? createSecureContext(tlsOptions),
      };
    } else {
      socket = tlsConnect({ host: options.host, port: options.port, ...tlsOptions });
      // Frames are messages: send each at once rather than wait (Nagle) for more to fill a segment.
      socket.setNoDelay(true);
    }
  } catch (error) {
    // Node builds the secure context synchronously: a certificate or key it cannot use fails here.
    return Promise.reject(settingsError(error));
  }

  return new Promise<FramedClient>((resolve, reject) => {
    let tcpConnectedAt: number | undefined;
    let settled = false;

    const finish = (error: TlsechoError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      attemptSignal?.removeEventListener('abort', onAbort);
      for (const emitter of [socket, tcpSocket]) {
        emitter?.off('error', onError);
        emitter?.off('close', onClose);
      }
      if (error) {
        socket?.destroy();
        tcpSocket?.destroy();
        reject(error);
        return;
      }
      // Only 'secureConnect' finishes without an error, and only on a socket startTls has set.
      const secured = socket!;
      const secureAt = performance.now();
      const connectedAt = tcpConnectedAt ?? secureAt;
      const timings = { connectMs: connectedAt - started, handshakeMs: secureAt - connectedAt };
      const peer = summarisePeer(secured, !settings.insecure);
      resolve(new FramedClient(secured, target, framing, peer, timings, signal));
    };

    const onError = (error: unknown) =>
      finish(
        describeSocketError(error, target, tcpConnectedAt === undefined ? 'connect' : 'handshake', {
          alpn: settings.alpn,
          minTls: settings.minTls,
          maxTls: settings.maxTls,
        }),
      );
    const onClose = () =>
      finish(
        new TlsFailureError(
          `${target} closed the connection during the TLS handshake: the server may be full (serve --max-connections), or refusing this client`,
          {
            code: 'ERR_HANDSHAKE_RESET',
            hint: 'try again later if the server is busy; otherwise, is it a TLS server, and does it accept this client (certificate, TLS version, PROXY header: --proxy-header)?',
          },
        ),
      );
    const onAbort = () => finish(abortReason(attemptSignal!));
    const timer = setTimeout(() => {
      const limit = formatDuration(timeoutMs);
      finish(
        new TimeoutError(
          tcpConnectedAt === undefined
            ? `connecting to ${target} timed out after ${limit}`
            : `no TLS handshake from ${target} within ${limit}`,
          {
            hint:
              tcpConnectedAt === undefined
                ? undefined
                : 'is it a TLS server? (raise --connect-timeout if it is slow; --plain for a gen_tcp service without TLS)',
          },
        ),
      );
    }, timeoutMs);

    const startTls = (tlsSocket: TLSSocket) => {
      socket = tlsSocket;
      tlsSocket.on('error', onError);
      tlsSocket.once('close', onClose);
      tlsSocket.once('secureConnect', () => finish(verifyServer(tlsSocket, settings, target)));
    };

    attemptSignal?.addEventListener('abort', onAbort, { once: true });
    if (socket) {
      socket.once('connect', () => {
        tcpConnectedAt = performance.now();
      });
      startTls(socket);
      return;
    }
    const tcp = netConnect({ host: options.host, port: options.port, noDelay: true });
    tcpSocket = tcp;
    tcp.on('error', onError);
    tcp.once('close', onClose);
    tcp.once('connect', () => {
      tcpConnectedAt = performance.now();
      // The header goes out before the ClientHello, so the server reads it first, as from a balancer.
      tcp.write(proxyHeader!, (error) => {
        if (error || settled) return; // a failed write also emits 'error'
        try {
          startTls(tlsConnect({ ...tlsOptions, socket: tcp }));
        } catch (error) {
          finish(settingsError(error));
        }
      });
    });
  });
}

/**
 * The plain TCP side of `connectFramed`: the same timeout, abort and PROXY header handling, and the same
 * typed errors (refused → ConnectionError, no connection in time → TimeoutError), with no TLS at all.
 */
function connectPlain(options: ConnectFramedOptions): Promise<FramedClient> {
  const target = formatTarget(options);
  const packet = options.packet ?? 4;
  const framing = createFraming(packet, options.maxFrame ?? defaultMaxFrame(packet));
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const signal = options.signal;
  const attemptSignal = signalOfAttempt(options);
  if (attemptSignal?.aborted) return Promise.reject(abortReason(attemptSignal));
  const started = performance.now();
  const proxyHeader = options.proxyHeader;

  return new Promise<FramedClient>((resolve, reject) => {
    let settled = false;
    // Frames are messages: send each at once rather than wait (Nagle) for more to fill a segment.
    const socket = netConnect({ host: options.host, port: options.port, noDelay: true });
    const finish = (error: TlsechoError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      attemptSignal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      const timings = { connectMs: performance.now() - started, handshakeMs: 0 };
      resolve(new FramedClient(socket, target, framing, PLAIN_PEER, timings, signal));
    };
    const onError = (error: unknown) => finish(describeSocketError(error, target, 'connect'));
    // Only possible while the PROXY header is being written: the server took the connection and hung up.
    const onClose = () =>
      finish(
        new ConnectionError(`${target} closed the connection as it opened`, {
          code: 'ERR_CONNECTION_CLOSED',
          hint: 'is the server full, or refusing this client?',
        }),
      );
    const onAbort = () => finish(abortReason(attemptSignal!));
    const timer = setTimeout(
      () => finish(new TimeoutError(`connecting to ${target} timed out after ${formatDuration(timeoutMs)}`)),
      timeoutMs,
    );
    attemptSignal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.once('connect', () => {
      if (proxyHeader === undefined) {
        finish(undefined);
        return;
      }
      socket.write(proxyHeader, (error) => {
        if (!error) finish(undefined); // a failed write also emits 'error'
      });
    });
  });
}

// What ends a connection attempt: the connection's own signal, the attempt's, or either.
function signalOfAttempt(options: ConnectFramedOptions): AbortSignal | undefined {
  const { signal, attemptSignal } = options;
  if (attemptSignal === undefined) return signal;
  return signal === undefined ? attemptSignal : AbortSignal.any([signal, attemptSignal]);
}
