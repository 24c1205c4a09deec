import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Decoder } from '../codec/decoder.js';
import type { Framing } from '../codec/framing.js';
import { FrameTooLargeError, ProtocolError } from '../errors.js';
import { EtfError } from '../etf/errors.js';
import { formatDuration } from '../units.js';
import { identifyClient } from '../tls/verify.js';
import { EchoPath } from './echo-path.js';
import { ReplyOutbox } from './reply-outbox.js';
import type {
  ClientIdentity,
  Handler,
  HandlerExit,
  HandlerSession,
  Replies,
  Reply,
  SessionContext,
} from './handlers/types.js';

/** Why a connection closed, as logs and `disconnect` events name it. */
export type CloseReason =
  | 'client-closed'
  | 'idle-timeout'
  | 'too-large'
  | 'protocol-error'
  | 'handler-failed'
  | 'handler-exited'
  | 'too-slow'
  | 'shutdown'
  | 'error';

/** A connection that completed its handshake. */
export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  /** False for a plain TCP connection (a listener with `plain`): no protocol, cipher or ALPN then. */
  encrypted?: boolean;
  /** e.g. `TLSv1.3` */
  protocol: string | null;
  /** e.g. `TLS_AES_256_GCM_SHA384`; `none` over plain TCP */
  cipher: string;
  alpnProtocol: string | false;
  client: ClientIdentity | undefined;
}

/** A closed connection: who, how long, how much, and why it ended. */
export interface ConnectionSummary {
  id: number;
  remoteAddress: string;
  remotePort: number;
  client: ClientIdentity | undefined;
  reason: CloseReason;
  /** What went wrong, for reasons other than client-closed, idle-timeout and shutdown. */
  error: Error | undefined;
  /** Set when an `exec:` child exited. */
  handlerExit: HandlerExit | undefined;
  durationMs: number;
  framesIn: number;
  framesOut: number;
  /** Messages meant for this client that were not sent because it was not keeping up (`--broadcast-drop`). */
  framesDropped: number;
  /** Framed bytes (headers included) received and sent over TLS. */
  bytesIn: number;
  bytesOut: number;
}

/** One message on its way in or out, for `--verbose`. */
export interface MessageTrace {
  id: number;
  direction: 'in' | 'out';
  message: Buffer;
}

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

// Reading pauses, and the handler gets no further message, once more than this many reply bytes wait in the
// socket's queue (replies produced but not yet written count too). Node's own signal (write()
// returning false) comes at 16 KiB, less than one read of pipelined frames brings in, so obeying it stopped and
// restarted reading on nearly every read of a busy connection: a JS round trip and two epoll_ctl calls each
// time, which the raw pipe pays too. 64 KiB, one full socket read, still bounds what a client that never reads
// can make us hold. The write just made does not count towards it: those bytes were already ours to hold, and
// counting them made every frame larger than the limit (a 64 KiB payload and its header) stop reading by itself.
// The bound is checked before every message, not once per chunk read: one 16 KiB TLS record holds 4,096 empty
// frames, and a handler answering each with 64 KiB would otherwise queue 256 MiB from it.
export const REPLY_QUEUE_LIMIT = 64 * 1024;

const kConnection = Symbol('tlsecho.connection');
type OwnedSocket = Socket & { [kConnection]?: Connection };

/**
 * One client: frames in, handler, replies out, in order. Owns the timeouts' bookkeeping (the server's sweep
 * asks it), backpressure (reading pauses while the client is not taking replies or the handler is busy),
 * and the counters of its summary.
 *
 * The echo handler takes a fast path (EchoPath, echo-path.ts): the connection only finds frame boundaries
 * and writes back each chunk's complete frames as the bytes that arrived, one write per chunk, no per-frame
 * work or copy.
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
  // Echo fast path.
  #echoPath: EchoPath | undefined;
  // Handler path.
  #decoder: Decoder | undefined;
  #session: HandlerSession | undefined;
  #deliver: ((frame: Buffer) => void) | undefined;
  // A frame the decoder handed over while the handler could not take it (at most one: the decoder then stops).
  #inbox: Buffer[] = [];
  #outbox: ReplyOutbox | undefined;
  #busy = false; // a handler promise (or the session's opening) is pending
  #pendingError: Error | undefined; // a framing error waiting for the honest frames before it to be answered
  #decoderEnded = false; // the client's end was passed on to the decoder

  #paused = false;
  #waitingDrain = false;
  #drainWaiters: Array<() => void> | undefined;
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
      this.#openSession(handler);
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
    else this.#decode(chunk);
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

  #decode(chunk: Buffer): void {
    const decoder = (this.#decoder ??= this.#host.framing.createDecoder());
    const wasInFrame = decoder.inFrame;
    const framesBefore = this.framesIn;
    try {
      decoder.push(chunk, this.#deliver!);
    } catch (error) {
      this.#pendingError ??= error as Error;
    }
    if (this.framesIn > framesBefore || !wasInFrame) this.#lastActive = this.#host.tick;
    this.#pump();
  }

  // The decoder's frame handler: false stops it, leaving the rest of the chunk undecoded until #pump resumes.
  #acceptFrame(frame: Buffer): boolean {
    // A handler that failed (or input that ended) on an earlier frame of this chunk sees nothing more.
    if (this.#phase !== 'open' || this.#inputFinished !== undefined) return false;
    this.framesIn += 1;
    if (this.#host.traceMessages) this.#host.traceMessage({ id: this.id, direction: 'in', message: frame });
    if (this.#inbox.length > 0 || !this.#mayHandle()) {
      this.#inbox.push(frame);
      return false;
    }
    this.#handle(frame);
    return this.#mayHandle();
  }

  // Whether the handler may have another message now: it is not busy, and the replies waiting to be sent are
  // within REPLY_QUEUE_LIMIT. Past it, the replies gathered so far are written first; if the socket's queue
  // is still over the limit after that, the answer is no until 'drain'.
  #mayHandle(): boolean {
    if (this.#busy || this.#waitingDrain || this.#phase !== 'open' || this.#inputFinished !== undefined)
      return false;
    if (this.#outbox!.bytes + this.#socket.writableLength <= REPLY_QUEUE_LIMIT) return true;
    this.#flush();
    return !this.#waitingDrain && this.#phase === 'open';
  }

  // --- handler ---

  #openSession(handler: Handler): void {
    const host = this.#host;
    this.#outbox = new ReplyOutbox(
      this.#socket,
      this,
      host.framing,
      host.traceMessages
        ? (message) => host.traceMessage({ id: this.id, direction: 'out', message })
        : undefined,
    );
    const context = this.#createContext();
    this.#deliver = (frame) => this.#acceptFrame(frame);
    let opened: HandlerSession | Promise<HandlerSession>;
    try {
      opened = handler.open(context);
    } catch (error) {
      this.#busy = true;
      queueMicrotask(() => this.#failHandler(error));
      return;
    }
    if (isPromise(opened)) {
      this.#busy = true;
      this.#updateReading();
      opened.then(
        (session) => {
          this.#session = session;
          if (this.#phase !== 'open') {
            void closeSession(session);
            return;
          }
          this.#busy = false;
          this.#pump();
        },
        (error: unknown) => this.#failHandler(error),
      );
    } else {
      this.#session = opened;
    }
  }

  #handle(frame: Buffer): void {
    let result: Replies | Promise<Replies>;
    try {
      result = this.#session!.message(frame);
    } catch (error) {
      // A message the handler cannot take (an `exec:` line holding a newline) ends the input, not the
      // handler: what it already took is still answered.
      if (error instanceof ProtocolError) this.#endInput('handler-failed', error);
      else this.#failHandler(error);
      return;
    }
    if (isPromise(result)) {
      this.#busy = true;
      this.#flush();
      this.#updateReading();
      result.then(
        (replies) => {
          if (this.#phase !== 'open') return;
          this.#busy = false;
          this.#queueReplies(replies);
          this.#pump();
        },
        (error: unknown) => this.#failHandler(error),
      );
      return;
    }
    this.#queueReplies(result);
  }

  // Hands the handler what was received and held back (the inbox, then the bytes the decoder kept) for as
  // long as it may take more, sends the replies gathered so far, then decides what next.
  #pump(): void {
    const inbox = this.#inbox;
    for (;;) {
      if (this.#phase !== 'open' || this.#inputFinished !== undefined) return;
      while (inbox.length > 0 && this.#mayHandle()) this.#handle(inbox.shift()!);
      const decoder = this.#decoder;
      if (inbox.length === 0 && decoder !== undefined && decoder.buffered > 0 && this.#mayHandle()) {
        try {
          decoder.resume(this.#deliver!);
        } catch (error) {
          this.#pendingError ??= error as Error;
        }
      }
      if (this.#phase !== 'open' || this.#inputFinished !== undefined) return;
      this.#flush();
      if (this.#busy || this.#waitingDrain || inbox.length > 0) {
        this.#updateReading();
        return;
      }
      // Every message received so far is answered.
      if (this.#pendingError) {
        const error = this.#pendingError;
        this.#endInput(error instanceof FrameTooLargeError ? 'too-large' : 'protocol-error', error);
        return;
      }
      if (this.#clientEnded) {
        if (!this.#decoderEnded) {
          // A last line without its newline is still a message; a frame cut short is an error.
          this.#decoderEnded = true;
          try {
            this.#decoder?.end(this.#deliver);
          } catch (error) {
            this.#pendingError ??= error as Error;
          }
          continue;
        }
        this.#finishInput('client-closed');
        return;
      }
      if (this.#draining && this.#isBetweenMessages()) {
        this.#finishInput('shutdown');
        return;
      }
      this.#updateReading();
      return;
    }
  }

  #queueReplies(replies: Replies): void {
    if (replies === undefined || replies === null) return;
    try {
      if (Array.isArray(replies)) {
        for (const reply of replies as readonly Reply[]) this.#outbox!.push(reply);
      } else {
        this.#outbox!.push(replies as Reply);
      }
    } catch (error) {
      this.#failHandler(error);
    }
  }

  // Replies produced together leave together: one cork per batch, so they share TLS records.
  #flush(): void {
    const outbox = this.#outbox;
    if (outbox === undefined || outbox.isEmpty) return;
    if (this.#phase === 'closed' || this.#socket.destroyed) {
      outbox.clear(); // the peer is gone: nobody to send to
      return;
    }
    const full = outbox.flush();
    this.#lastActive = this.#host.tick;
    if (full !== undefined) this.#pauseIfQueueFull(full);
  }

  // Replies a handler framed itself (an `exec:` child's lines, in bulk), written as they are.
  #writeFramed(pieces: readonly Buffer[], frames: number, bytes: number): void {
    const full = this.#outbox!.writeFramed(pieces, frames, bytes);
    this.#lastActive = this.#host.tick;
    if (full !== undefined) this.#pauseIfQueueFull(full);
  }

  #failHandler(error: unknown): void {
    if (this.#phase !== 'open') return;
    this.#busy = false;
    this.#inbox.length = 0;
    // A term the handler refused to decode (over its work budget) is the client's doing, not the handler's.
    this.#close(error instanceof EtfError ? 'protocol-error' : 'handler-failed', toError(error));
  }

  // The input broke (a frame too large or cut short, a message the handler cannot take): read no more, but
  // let a handler that can finish (an `exec:` child) answer what it already took, then close with `reason`.
  #endInput(reason: CloseReason, error: Error): void {
    if (this.#phase !== 'open') return;
    this.#inbox.length = 0;
    if (this.#session?.end === undefined) {
      this.#close(reason, error);
      return;
    }
    this.#recordReason(reason, error);
    this.#finishInput(reason);
  }

  #createContext(): SessionContext {
    const socket = this.#socket;
    const context: SessionContext = {
      id: this.id,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      protocol: socket instanceof TLSSocket ? socket.getProtocol() : null,
      alpnProtocol: (socket instanceof TLSSocket && socket.alpnProtocol) || false,
      client: this.#client,
      packet: this.#host.framing.mode,
      state: {},
      send: (replies) => {
        if (this.#phase === 'closed' || this.#socket.writableEnded || this.#socket.destroyed) return false;
        this.#queueReplies(replies);
        this.#flush();
        return !this.#waitingDrain;
      },
      sendFramed: this.#host.traceMessages
        ? undefined
        : (pieces, frames, bytes) => {
            if (this.#phase === 'closed' || this.#socket.writableEnded || this.#socket.destroyed)
              return false;
            this.#flush();
            this.#writeFramed(pieces, frames, bytes);
            return !this.#waitingDrain;
          },
      waitForDrain: () => {
        if (!this.#waitingDrain || this.#phase === 'closed') return Promise.resolve();
        return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve));
      },
      finish: (exit) => {
        this.#handlerExit = exit;
        // After the client's end the session's own end() decides when to close, with the client's reason.
        if (this.#inputFinished === undefined) this.#close('handler-exited');
      },
      fail: (error) => this.#failHandler(error),
      // A client that takes nothing holds its queued replies until it does: drop them with the socket, now.
      abandon: (error) => this.#close('too-slow', error, { abort: true }),
      countDropped: (count) => {
        this.framesDropped += count;
      },
    };
    return context;
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
    const waiters = this.#drainWaiters;
    if (waiters) {
      this.#drainWaiters = undefined;
      for (const resolve of waiters) resolve();
    }
    if (this.#phase !== 'open') return;
    // The handler path goes on with the messages it held back; the echo path holds none.
    if (this.#echoPath) this.#updateReading();
    else this.#pump();
  }

  // Read only while both the client is taking our replies and the handler is ready for more; otherwise a
  // client that sends without reading would make us buffer without bound.
  #updateReading(): void {
    const wanted = this.#phase !== 'open' || (!this.#busy && !this.#waitingDrain && !this.#clientEnded);
    if (wanted === !this.#paused) return;
    this.#paused = !wanted;
    if (wanted) this.#socket.resume();
    else this.#socket.pause();
  }

  #isBetweenMessages(): boolean {
    if (this.#busy || this.#inbox.length > 0) return false;
    if (this.#echoPath) return !this.#echoPath.inFrame;
    return !(this.#decoder?.inFrame ?? false);
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
    // The messages still held back come first; #pump ends the decoder once they are answered.
    this.#pump();
  }

  // No more messages will be read: let the handler finish (an exec child flushing its output), then close.
  // A handler still running after the drain timeout is stopped (its session's close): a child that outlives
  // its stdin must not hold the connection, and its --max-connections slot, until the idle timeout.
  #finishInput(reason: CloseReason): void {
    if (this.#phase !== 'open' || this.#inputFinished !== undefined) return;
    this.#inputFinished = reason;
    const ending = this.#session?.end?.(reason === 'client-closed');
    if (isPromise(ending)) {
      this.#busy = true;
      this.#clientEnded = true;
      this.#updateReading();
      const drainMs = this.#host.drainTimeoutMs;
      const timer = setTimeout(() => {
        if (this.#phase !== 'open') return;
        this.#recordReason(
          reason,
          new Error(
            `the handler was still running ${formatDuration(drainMs)} after its input ended (--drain-timeout); stopped it`,
          ),
        );
        if (this.#session) void closeSession(this.#session);
        this.#close(reason);
      }, drainMs);
      ending.then(
        () => {
          clearTimeout(timer);
          this.#close(reason);
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.#failHandler(error);
        },
      );
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
    if (this.#inbox.length > 0) this.#inbox.length = 0;
    if (options.abort) {
      this.#socket.destroy();
      return;
    }
    this.#flush();
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
    // Setting an array's length is a call into the runtime even when it is already 0; the echo path never
    // fills the inbox.
    if (this.#inbox.length > 0) this.#inbox.length = 0;
    this.#outbox?.clear();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
    if (this.#session) void closeSession(this.#session);
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

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

// Never rejects, so callers that cannot wait for it `void` it.
async function closeSession(session: HandlerSession): Promise<void> {
  try {
    await session.close?.();
  } catch {
    // The connection is already gone; a failing cleanup has no one left to tell but the handler itself.
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
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
