import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Decoder } from '../codec/decoder.js';
import { createFraming, type Framing } from '../codec/framing.js';
import { defaultMaxFrame, type PacketMode } from '../codec/limits.js';
import {
  ConnectionError,
  InterruptedError,
  ProtocolError,
  TimeoutError,
  TlsFailureError,
  isTlsechoError,
  type TlsechoError,
} from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { buildClientTlsOptions, type ClientTlsSettings } from '../tls/options.js';
import { summarisePeer, verifyServer, type PeerSummary } from '../tls/verify.js';
import { formatDuration } from '../units.js';
import { formatTarget, type Target } from './target.js';

import { DEFAULT_CONNECT_TIMEOUT_MS } from './defaults.js';

export { DEFAULT_CONNECT_TIMEOUT_MS };

// After `end()`, how long the peer gets to answer our close_notify before the socket is destroyed.
const CLOSE_GRACE_MS = 2_000;
// A reader that falls behind makes received frames pile up; past either limit the socket is paused, so TCP
// flow control slows the server down instead of our memory growing.
const MAX_QUEUED_FRAMES = 1024;
const MAX_QUEUED_BYTES = 1024 * 1024;

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
   * Written on the TCP connection before the TLS handshake, as a load balancer would: a PROXY protocol
   * header (`encodeProxyHeaderV2()`) for a server that requires one. The connect timeout covers it.
   */
  proxyHeader?: Buffer;
}

export interface ConnectTimings {
  /** From the call to the TCP connection (includes the DNS lookup). */
  connectMs: number;
  /** From the TCP connection to a verified TLS session. */
  handshakeMs: number;
}

export interface ClientCounters {
  framesSent: number;
  framesReceived: number;
  /** Payload bytes, headers not included. */
  bytesSent: number;
  bytesReceived: number;
}

/**
 * Opens a TLS connection and speaks `{packet, N}` (or line) frames over it. Resolves only once the server
 * has been verified (`verifyServer`): nothing can be sent to a server we refuse to trust.
 *
 * Failures are typed: refused or unreachable → ConnectionError, handshake or verification → TlsFailureError
 * (one line, with the fingerprint that was seen), no answer in time → TimeoutError.
 */
export function connectFramed(options: ConnectFramedOptions): Promise<FramedClient> {
  const target = formatTarget(options);
  const settings = options.tls ?? {};
  const packet = options.packet ?? 4;
  const framing = createFraming(packet, options.maxFrame ?? defaultMaxFrame(packet));
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));

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
      signal?.removeEventListener('abort', onAbort);
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
    const onAbort = () => finish(abortReason(signal!));
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
                : 'is it a TLS server? (raise --connect-timeout if it is slow)',
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

    signal?.addEventListener('abort', onAbort, { once: true });
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

function abortReason(signal: AbortSignal): TlsechoError {
  return isTlsechoError(signal.reason) ? signal.reason : new InterruptedError();
}

type Pending = { resolve(result: IteratorResult<Buffer>): void; reject(error: unknown): void };

/**
 * A verified, framed TLS connection. Iterate it (once) for received frames; `send` frames with backpressure;
 * `end` to close. The iteration ends when the server closes, or throws the typed error that ended the
 * session, but only after every complete frame received before it.
 *
 * Received frames may be views into a larger chunk; copy one that is kept for long.
 */
export class FramedClient implements AsyncIterable<Buffer> {
  readonly counters: ClientCounters = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 };
  readonly #decoder: Decoder;
  readonly #frames: Buffer[] = [];
  #queuedBytes = 0;
  #pending: Pending | undefined;
  #finished = false; // no more frames will be queued
  #failure: TlsechoError | undefined;
  #failureDelivered = false;
  #closedByPeer = false;
  #endedByUs = false;
  #paused = false;
  readonly #closed: Promise<void>;

  /** @internal Built by `connectFramed`. */
  constructor(
    readonly socket: TLSSocket,
    /** `host:port` as messages show it. */
    readonly target: string,
    readonly framing: Framing,
    /** Protocol, cipher, subject and fingerprint of the server, and whether it was verified. */
    readonly peer: PeerSummary,
    readonly timings: ConnectTimings,
    signal?: AbortSignal,
  ) {
    this.#decoder = framing.createDecoder();
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('end', () => this.#receiveEnd());
    socket.on('error', (error) => this.#fail(describeSocketError(error, target, 'session')));
    socket.once('close', () => this.#finish());
    if (signal) {
      const onAbort = () => this.destroy(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#closed.then(() => signal.removeEventListener('abort', onAbort));
    }
  }

  /** True once the server closed its side (as opposed to an error, or us closing). */
  get closedByPeer(): boolean {
    return this.#closedByPeer;
  }

  /** Bytes received that are not (yet) a whole frame: the start of a frame, or text in a framed stream. */
  get unframedBytes(): number {
    return this.#decoder.buffered;
  }

  /** The error that ended (or is ending) the session, once there is one. */
  get failure(): TlsechoError | undefined {
    return this.#failure;
  }

  /** Resolves when the socket has closed, whatever the reason. Never rejects. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** True while frames can still be sent. */
  get writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableEnded && this.#failure === undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.#next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /**
   * Queues one frame for sending and returns Node's backpressure signal: false means wait for `drained()`.
   * A payload above the maximum frame throws FrameTooLargeError before anything is written, and the
   * connection stays usable (as Erlang's `ssl:send` refusing `packet_to_large`).
   */
  write(payload: Uint8Array): boolean {
    if (!this.writable) throw this.#closedError();
    const [first, second] = this.framing.encoder.encode(payload);
    const socket = this.socket;
    socket.cork();
    if (first.length > 0) socket.write(first);
    if (second.length > 0) socket.write(second);
    // Uncork on the next tick (Node's idiom) so that frames sent in the same tick share TLS records.
    process.nextTick(() => socket.uncork());
    this.counters.framesSent += 1;
    this.counters.bytesSent += payload.length;
    return !socket.writableNeedDrain;
  }

  /** Resolves when the socket's write buffer has room again; rejects if the connection ends first. */
  drained(): Promise<void> {
    const socket = this.socket;
    if (!socket.writableNeedDrain) return Promise.resolve();
    if (!this.writable) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        socket.off('drain', onDrain);
        reject(this.#closedError());
      };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  }

  /** Sends one frame, waiting for room in the write buffer when it is full (bounded memory for any input). */
  async send(payload: Uint8Array): Promise<void> {
    if (!this.write(payload)) await this.drained();
  }

  /**
   * Closes the connection cleanly (TLS close_notify, then FIN) once everything written has been sent, and
   * resolves when the socket has closed. A peer that does not answer is cut off after a short grace.
   */
  async end(): Promise<void> {
    const socket = this.socket;
    this.#endedByUs = true;
    if (!socket.destroyed) {
      socket.end();
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      grace.unref();
      await this.#closed;
      clearTimeout(grace);
    }
  }

  /** Tears the connection down at once; with an error, the iteration ends by throwing it. */
  destroy(error?: TlsechoError): void {
    if (error) this.#fail(error);
    this.socket.destroy();
    this.#finish();
  }

  #receive(chunk: Buffer): void {
    if (this.#finished) return;
    try {
      this.#decoder.push(chunk, (frame) => this.#enqueue(frame));
    } catch (error) {
      this.#fail(this.#describeFramingError(error));
      this.socket.destroy();
    }
  }

  #receiveEnd(): void {
    try {
      this.#decoder.end((frame) => this.#enqueue(frame));
      this.#closedByPeer = this.#failure === undefined && !this.#endedByUs;
    } catch (error) {
      this.#fail(this.#describeFramingError(error));
    }
    this.#finish();
  }

  #enqueue(frame: Buffer): void {
    this.counters.framesReceived += 1;
    this.counters.bytesReceived += frame.length;
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      pending.resolve({ value: frame, done: false });
      return;
    }
    this.#frames.push(frame);
    this.#queuedBytes += frame.length;
    if (
      !this.#paused &&
      (this.#frames.length >= MAX_QUEUED_FRAMES || this.#queuedBytes >= MAX_QUEUED_BYTES)
    ) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  #next(): Promise<IteratorResult<Buffer>> {
    const frame = this.#frames.shift();
    if (frame !== undefined) {
      this.#queuedBytes -= frame.length;
      if (
        this.#paused &&
        this.#frames.length <= MAX_QUEUED_FRAMES / 2 &&
        this.#queuedBytes <= MAX_QUEUED_BYTES / 2
      ) {
        this.#paused = false;
        this.socket.resume();
      }
      return Promise.resolve({ value: frame, done: false });
    }
    if (this.#finished) return this.#settleEnd();
    if (this.#pending) return Promise.reject(new Error('FramedClient is iterated by one reader at a time'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }

  // The first call after the end reports the failure, if any; later calls just say done.
  #settleEnd(): Promise<IteratorResult<Buffer>> {
    if (this.#failure && !this.#failureDelivered) {
      this.#failureDelivered = true;
      return Promise.reject(this.#failure);
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  #fail(error: TlsechoError): void {
    this.#failure ??= error;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = undefined;
      this.#settleEnd().then(pending.resolve, pending.reject);
    }
  }

  #describeFramingError(error: unknown): TlsechoError {
    if (error instanceof ProtocolError) {
      return new ProtocolError(`bad frame from ${this.target}: ${error.message}`, error.code, {
        hint: error.hint,
        cause: error,
      });
    }
    return describeSocketError(error, this.target, 'session');
  }

  #closedError(): TlsechoError {
    return (
      this.#failure ??
      new ConnectionError(
        this.#closedByPeer
          ? `cannot send: ${this.target} closed the connection`
          : `cannot send: the connection to ${this.target} is closed`,
        { code: 'ERR_CONNECTION_CLOSED' },
      )
    );
  }
}
