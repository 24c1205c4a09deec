import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Framing } from '../codec/framing.js';
import { identifyClient } from '../tls/verify.js';
import { EchoPath } from './echo-path.js';
import { HandlerPath, type HandlerPathControl } from './handler-path.js';
import { REPLY_QUEUE_LIMIT } from './reply-outbox.js';
import type { ClientIdentity, Handler, HandlerExit } from './handlers/types.js';
import type { CloseReason, ConnectionInfo, ConnectionSummary, MessageTrace } from './connection-report.js';

// server.ts and the tests name these through this module.
export type { CloseReason, ConnectionInfo, ConnectionSummary, MessageTrace };

/** What every connection shares with its server: read, never copied, so a connection costs one reference. */
export interface ConnectionHost {
  readonly framing: Framing;
  readonly handler: Handler;
  /** Whether `message` events are wanted; off, the echo path never looks inside a frame. */
  readonly traceMessages: boolean;
  /** A coarse clock, advanced by the server's sweep; connections stamp activity with it instead of reading the time. */
  readonly tick: number;
  /** How long a handler may go on after its input ended (an `exec:` child finishing) before it is stopped. */
  readonly drainTimeoutMs: number;
  traceMessage(trace: MessageTrace): void;
  connectionClosed(connection: Connection, summary: ConnectionSummary): void;
}

const kConnection = Symbol('tlsecho.connection');
type OwnedSocket = Socket & { [kConnection]?: Connection };

/**
 * One client: frames in, handler, replies out, in order. Owns the lifecycle and the timeouts' bookkeeping
 * (the server's sweep asks it), backpressure (reading pauses while the client is not taking replies or the
 * handler is busy), closing, and the counters of its summary.
 *
 * What happens to the bytes read is one of two paths. The echo handler takes a fast path (EchoPath,
 * echo-path.ts): the connection only finds frame boundaries and writes back each chunk's complete frames as
 * the bytes that arrived, one write per chunk, no per-frame work or copy. Every other handler takes the
 * handler path (HandlerPath, handler-path.ts): frames decoded, handed to the handler's session, replies
 * gathered and written together.
 */
export class Connection {
  readonly startedAt = Date.now();
  // Read once, at accept: after close the socket no longer knows its peer.
  readonly remoteAddress: string;
  readonly remotePort: number;
  framesIn = 0;
  framesOut = 0;
  framesDropped = 0;
  bytesIn = 0;
  bytesOut = 0;

  readonly #host: ConnectionHost;
  readonly #socket: OwnedSocket;
  // Exactly one of the two is set.
  #echoPath: EchoPath | undefined;
  #handlerPath: HandlerPath | undefined;

  #paused = false;
  #waitingDrain = false;
  #lastActive: number;
  #endingSince = -1;
  #clientEnded = false;
  #draining = false;
  #inputFinished: CloseReason | undefined; // input is over and the handler is finishing: close with this
  #phase: 'open' | 'ending' | 'closed' = 'open';
  #reason: CloseReason | undefined;
  #error: Error | undefined;
  #handlerExit: HandlerExit | undefined;
  #client: ClientIdentity | undefined;

  constructor(
    readonly id: number,
    /** A TLSSocket, or a TCP socket from a `plain` listener. */
    socket: Socket,
    host: ConnectionHost,
    options: {
      identifyClient: boolean;
      /**
       * The client, when already known: from the TCP socket under this one, or named by a PROXY protocol
       * header (then not the socket's peer, which is the balancer).
       */
      peer?: { address: string; port?: number };
    },
  ) {
    this.#host = host;
    this.#socket = socket as OwnedSocket;
    this.#socket[kConnection] = this;
    this.#lastActive = host.tick;
    this.remoteAddress = options.peer?.address ?? socket.remoteAddress ?? '';
    this.remotePort = options.peer ? (options.peer.port ?? 0) : (socket.remotePort ?? 0);
    if (options.identifyClient && socket instanceof TLSSocket) this.#client = identifyClient(socket);
    const { framing, handler } = host;
    if (handler.echoesUnchanged && !host.traceMessages) {
      this.#echoPath = new EchoPath(socket, this, framing.mode, framing.maxFrame);
    } else {
      this.#handlerPath = new HandlerPath(socket, host, this, this.#handlerPathControl());
      this.#handlerPath.start();
    }
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  get client(): ClientIdentity | undefined {
    return this.#client;
  }

  /** Built on demand: the echo path never needs it. */
  info(): ConnectionInfo {
    const socket = this.#socket;
    const tls = socket instanceof TLSSocket ? socket : undefined;
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      encrypted: tls !== undefined,
      protocol: tls ? tls.getProtocol() : null,
      cipher: tls ? (tls.getCipher()?.name ?? 'unknown') : 'none',
      alpnProtocol: tls?.alpnProtocol ?? false,
      client: this.#client,
    };
  }

  /**
   * Called by the server's sweep every tick. Closes a connection that has been idle for `idleTicks` ticks,
   * and destroys one that was asked to close more than `graceTicks` ago but whose peer has not let go.
   */
  sweep(tick: number, idleTicks: number, graceTicks: number): void {
    if (this.#phase === 'open') {
      if (tick - this.#lastActive > idleTicks) this.#close('idle-timeout', undefined, { abort: true });
    } else if (this.#phase === 'ending' && tick - this.#endingSince > graceTicks) {
      this.#socket.destroy();
    }
  }

  /**
   * The server is shutting down: close as soon as no message is in flight (now, if none is). Messages
   * already received are still answered; nothing new is read once the connection is between messages.
   */
  drain(): void {
    if (this.#phase !== 'open' || this.#draining) return;
    this.#draining = true;
    if (this.#isBetweenMessages()) this.#finishInput('shutdown');
  }

  /** Closes now, sending what is already queued (complete replies only), for the end of the drain time. */
  shutdown(): void {
    this.#close('shutdown');
  }

  /** Closes at once, queued replies or not. */
  destroy(): void {
    this.#recordReason('shutdown');
    this.#socket.destroy();
  }

  // --- receiving ---

  receive(chunk: Buffer): void {
    if (this.#phase !== 'open') return; // lingering after our end: discard what the peer still sends
    this.bytesIn += chunk.length;
    if (this.#echoPath) this.#echo(chunk);
    else this.#decode(this.#handlerPath!, chunk);
  }

  #echo(chunk: Buffer): void {
    const echoPath = this.#echoPath!;
    const wasInFrame = echoPath.inFrame;
    const framesBefore = this.framesIn;
    const full = echoPath.receive(chunk);
    // A trickle of bytes inside one frame is not activity: a header declaring 1 MiB followed by a byte a
    // second must still meet the idle timeout.
    if (this.framesIn > framesBefore || !wasInFrame) this.#lastActive = this.#host.tick;
    if (full > 0) this.#pauseIfQueueFull(full);
    const error = echoPath.error;
    if (error) {
      this.#close('too-large', error);
      return;
    }
    if (this.#draining && !echoPath.inFrame) this.#finishInput('shutdown');
  }

  #decode(handlerPath: HandlerPath, chunk: Buffer): void {
    const wasInFrame = handlerPath.inFrame;
    const framesBefore = this.framesIn;
    handlerPath.decode(chunk);
    if (this.framesIn > framesBefore || !wasInFrame) this.#lastActive = this.#host.tick;
    handlerPath.pump();
  }

  // The handler path reads and moves on the connection's state through this, and nothing else.
  #handlerPathControl(): HandlerPathControl {
    return {
      isOpen: () => this.#phase === 'open',
      isClosed: () => this.#phase === 'closed',
      isInputFinished: () => this.#inputFinished !== undefined,
      isWaitingDrain: () => this.#waitingDrain,
      hasClientEnded: () => this.#clientEnded,
      isDraining: () => this.#draining,
      wrote: (full) => {
        this.#lastActive = this.#host.tick;
        if (full !== undefined) this.#pauseIfQueueFull(full);
      },
      updateReading: () => this.#updateReading(),
      close: (reason, error, options) => this.#close(reason, error, options),
      finishInput: (reason) => this.#finishInput(reason),
      recordReason: (reason, error) => this.#recordReason(reason, error),
      handlerExited: (exit) => {
        this.#handlerExit = exit;
        // After the client's end the session's own end() decides when to close, with the client's reason.
        if (this.#inputFinished === undefined) this.#close('handler-exited');
      },
    };
  }

  // --- flow control ---

  // `ok` false only means Node's queue passed its 16 KiB mark; reading goes on while what waited before the
  // `justWritten` bytes is within REPLY_QUEUE_LIMIT. Past it, the write that crossed the mark has armed
  // 'drain', which resumes reading once the queue is empty.
  #pauseIfQueueFull(justWritten: number): void {
    if (this.#socket.writableLength - justWritten > REPLY_QUEUE_LIMIT) this.#awaitDrain();
  }

  #awaitDrain(): void {
    this.#waitingDrain = true;
    this.#updateReading();
  }

  onDrain(): void {
    this.#waitingDrain = false;
    this.#lastActive = this.#host.tick;
    // The handler path goes on with the messages it held back; the echo path holds none.
    if (this.#handlerPath) this.#handlerPath.onDrain();
    else if (this.#phase === 'open') this.#updateReading();
  }

  // Read only while both the client is taking our replies and the handler is ready for more; otherwise a
  // client that sends without reading would make us buffer without bound.
  #updateReading(): void {
    const busy = this.#handlerPath?.busy ?? false;
    const wanted = this.#phase !== 'open' || (!busy && !this.#waitingDrain && !this.#clientEnded);
    if (wanted === !this.#paused) return;
    this.#paused = !wanted;
    if (wanted) this.#socket.resume();
    else this.#socket.pause();
  }

  #isBetweenMessages(): boolean {
    if (this.#echoPath) return !this.#echoPath.inFrame;
    return this.#handlerPath!.isBetweenMessages;
  }

  // --- closing ---

  onEnd(): void {
    this.#clientEnded = true;
    if (this.#phase !== 'open') return;
    if (this.#echoPath) {
      const truncated = this.#echoPath.end();
      if (truncated) this.#close('protocol-error', truncated);
      else this.#finishInput('client-closed');
      return;
    }
    // The messages still held back come first; the handler path ends the decoder once they are answered.
    this.#handlerPath!.pump();
  }

  // No more messages will be read: let the handler finish (HandlerPath.finish), then close.
  #finishInput(reason: CloseReason): void {
    if (this.#phase !== 'open' || this.#inputFinished !== undefined) return;
    this.#inputFinished = reason;
    if (this.#handlerPath?.finish(reason, this.#host.drainTimeoutMs)) {
      this.#clientEnded = true;
      this.#updateReading();
      return;
    }
    this.#close(reason);
  }

  #recordReason(reason: CloseReason, error?: Error): void {
    if (this.#reason === undefined) {
      this.#reason = reason;
      this.#error = error;
    }
  }

  /**
   * Ends the connection. Replies already queued still go out (a reply is never cut in half) and we keep
   * reading, discarding, until the peer closes too: closing with unread input would send a reset that can
   * destroy replies the peer has not read yet. The sweep destroys the socket if the peer lingers.
   */
  #close(reason: CloseReason, error?: Error, options: { abort?: boolean } = {}): void {
    if (this.#phase !== 'open') return;
    this.#recordReason(reason, error);
    this.#phase = 'ending';
    this.#endingSince = this.#host.tick;
    this.#echoPath?.discard();
    this.#handlerPath?.stop(options.abort === true);
    if (options.abort) {
      this.#socket.destroy();
      return;
    }
    this.#updateReading();
    this.#socket.end();
  }

  onError(error: Error): void {
    this.#recordReason(
      isReset(error) ? 'client-closed' : 'error',
      isReset(error) ? undefined : readable(error),
    );
    // Node destroys a TCP socket on error, but leaves a TLS socket open after an error that follows the
    // handshake (a corrupt record, a refused renegotiation): the session is dead, and without this the
    // connection would hold its slot until the idle timeout even after the client has gone.
    this.#socket.destroy();
  }

  onClose(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#echoPath?.discard();
    this.#handlerPath?.closed();
    this.#host.connectionClosed(this, this.#summary());
  }

  #summary(): ConnectionSummary {
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      client: this.#client,
      reason: this.#reason ?? 'client-closed',
      error: this.#error,
      handlerExit: this.#handlerExit,
      durationMs: Date.now() - this.startedAt,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      framesDropped: this.framesDropped,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

// Socket listeners shared by every connection: `this` is the socket, which points at its connection.
// One set of functions for the whole server instead of closures per connection.
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[kConnection]!.receive(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[kConnection]!.onEnd();
}
function onSocketDrain(this: OwnedSocket): void {
  this[kConnection]!.onDrain();
}
function onSocketError(this: OwnedSocket, error: Error): void {
  this[kConnection]!.onError(error);
}
function onSocketClose(this: OwnedSocket): void {
  this[kConnection]!.onClose();
}

// OpenSSL's messages start with an address and end with a source path; its `reason` is what a reader needs.
function readable(error: Error): Error {
  const { reason, code } = error as Error & { reason?: unknown; code?: string };
  if (typeof reason !== 'string') return error;
  return Object.assign(new Error(`TLS session failed: ${reason}`, { cause: error }), { code });
}

function isReset(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
