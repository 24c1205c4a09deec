import type { Socket } from 'node:net';
import type { Decoder } from '../codec/decoder.js';
import type { Framing } from '../codec/framing.js';
import { ConnectionError, ProtocolError, type TlsechoError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import type { PeerSummary } from '../tls/verify.js';
import { abortReason } from './deadline.js';

// After `end()`, how long the peer gets to answer our close_notify before the socket is destroyed.
const CLOSE_GRACE_MS = 2_000;
// A reader that falls behind makes received frames pile up; past either limit the socket is paused, so TCP
// flow control slows the server down instead of our memory growing.
const MAX_QUEUED_FRAMES = 1024;
const MAX_QUEUED_BYTES = 1024 * 1024;

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

type Pending = { resolve(result: IteratorResult<Buffer>): void; reject(error: unknown): void };

/**
 * A verified, framed TLS connection (or, with `plain`, a framed TCP connection). Iterate it (once) for received frames; `send` frames with backpressure;
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
  /**
   * Sees every frame as it is sent (`c2s`, once accepted for sending) and received (`s2c`, as soon as it is
   * whole, before it is handed on): `connect --record` writes them to its file here.
   */
  onFrame: ((dir: 'c2s' | 's2c', payload: Uint8Array) => void) | undefined;

  /** @internal Built by `connectFramed`. */
  constructor(
    /** A TLSSocket, or a plain TCP socket for `plain` connections (`peer.encrypted` is then false). */
    readonly socket: Socket,
    /** `host:port` as messages show it. */
    readonly target: string,
    readonly framing: Framing,
    /**
     * Protocol, cipher, subject and fingerprint of the server, and whether it was verified; for a plain TCP
     * connection only `{ encrypted: false }`.
     */
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
      // #closed only resolves (on 'close'): nothing to handle.
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
    this.onFrame?.('c2s', payload);
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
    this.onFrame?.('s2c', frame);
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
