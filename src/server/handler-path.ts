import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Decoder } from '../codec/decoder.js';
import type { Framing } from '../codec/framing.js';
import { FrameTooLargeError, ProtocolError } from '../errors.js';
import { EtfError } from '../etf/errors.js';
import { formatDuration } from '../units.js';
import type { CloseReason, MessageTrace } from './connection-report.js';
import { REPLY_QUEUE_LIMIT, ReplyOutbox } from './reply-outbox.js';
import type {
  ClientIdentity,
  Handler,
  HandlerExit,
  HandlerSession,
  Replies,
  Reply,
  SessionContext,
} from './handlers/types.js';

/** The connection as its handler path sees it: who the client is, and the counters of its summary. */
export interface HandlerPathConnection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly client: ClientIdentity | undefined;
  framesIn: number;
  framesOut: number;
  framesDropped: number;
  bytesOut: number;
}

/** What the handler path needs of the server: read, like the connection's host. */
export interface HandlerPathHost {
  readonly framing: Framing;
  readonly handler: Handler;
  readonly traceMessages: boolean;
  traceMessage(trace: MessageTrace): void;
}

/**
 * The connection's lifecycle, flow control and closing, which stay with it: what the handler path reads
 * of them, and the ways it may move them on.
 */
export interface HandlerPathControl {
  /** Not closing yet. */
  isOpen(): boolean;
  /** The socket closed: nobody left to send to. */
  isClosed(): boolean;
  /** Input is over (the handler may still be finishing): no message is handed to the handler any more. */
  isInputFinished(): boolean;
  /** The socket's queue passed REPLY_QUEUE_LIMIT: no more messages or reads until 'drain'. */
  isWaitingDrain(): boolean;
  hasClientEnded(): boolean;
  /** The server is shutting down. */
  isDraining(): boolean;
  /** Replies were written; `full` is the bytes of a write that filled the socket's queue, else undefined. */
  wrote(full: number | undefined): void;
  updateReading(): void;
  close(reason: CloseReason, error?: Error, options?: { abort?: boolean }): void;
  finishInput(reason: CloseReason): void;
  recordReason(reason: CloseReason, error?: Error): void;
  handlerExited(exit: HandlerExit | undefined): void;
}

/**
 * The path of every handler but the plain echo: frames are decoded, handed to the handler's session one by
 * one while it may take more, and its replies gathered in a ReplyOutbox and written together. A frame the
 * handler cannot take yet waits in an inbox, and the decoder keeps the rest of the chunk undecoded, until
 * the handler or the client catches up (`pump`).
 */
export class HandlerPath {
  readonly #socket: Socket;
  readonly #host: HandlerPathHost;
  readonly #connection: HandlerPathConnection;
  readonly #control: HandlerPathControl;
  readonly #outbox: ReplyOutbox;
  readonly #deliver: (frame: Buffer) => boolean;
  #decoder: Decoder | undefined;
  #session: HandlerSession | undefined;
  // A frame the decoder handed over while the handler could not take it (at most one: the decoder then stops).
  #inbox: Buffer[] = [];
  #busy = false; // a handler promise (or the session's opening, or its end) is pending
  #pendingError: Error | undefined; // a framing error waiting for the honest frames before it to be answered
  #decoderEnded = false; // the client's end was passed on to the decoder
  #drainWaiters: Array<() => void> | undefined;

  constructor(
    socket: Socket,
    host: HandlerPathHost,
    connection: HandlerPathConnection,
    control: HandlerPathControl,
  ) {
    this.#socket = socket;
    this.#host = host;
    this.#connection = connection;
    this.#control = control;
    this.#outbox = new ReplyOutbox(
      socket,
      connection,
      host.framing,
      host.traceMessages
        ? (message) => host.traceMessage({ id: connection.id, direction: 'out', message })
        : undefined,
    );
    this.#deliver = (frame) => this.#acceptFrame(frame);
  }

  /** A handler promise (or the session's opening or end) is pending: read nothing more meanwhile. */
  get busy(): boolean {
    return this.#busy;
  }

  /** No message is in flight: none is with the handler or waiting for it, and no frame is half received. */
  get isBetweenMessages(): boolean {
    return !this.#busy && this.#inbox.length === 0 && !this.inFrame;
  }

  /** Whether the bytes received so far end inside a frame. */
  get inFrame(): boolean {
    return this.#decoder?.inFrame ?? false;
  }

  /** Decodes `chunk`, handing its frames to the handler while it may take them; `pump` goes on from there. */
  decode(chunk: Buffer): void {
    const decoder = (this.#decoder ??= this.#host.framing.createDecoder());
    try {
      decoder.push(chunk, this.#deliver);
    } catch (error) {
      this.#pendingError ??= error as Error;
    }
  }

  /** The client is taking replies again: wake whoever waits for it, and go on with what was held back. */
  onDrain(): void {
    this.#wakeDrainWaiters();
    if (this.#control.isOpen()) this.pump();
  }

  /**
   * The connection is closing: nothing more goes to the handler. Unless `abort`, the replies gathered so far
   * still go out.
   */
  stop(abort: boolean): void {
    this.#inbox.length = 0;
    if (!abort) this.#flush();
  }

  /** The socket closed: drop what is queued, release waiters, close the session. */
  closed(): void {
    this.#inbox.length = 0;
    this.#outbox.clear();
    this.#wakeDrainWaiters();
    if (this.#session) void closeSession(this.#session);
  }

  /**
   * Input is over: lets the session end (an `exec:` child flushing its output), busy meanwhile, and closes
   * the connection with `reason` once it has. Returns false when there is nothing to wait for. A handler still
   * running after `drainMs` is stopped (its session's close): a child that outlives its stdin must not hold
   * the connection, and its --max-connections slot, until the idle timeout.
   */
  finish(reason: CloseReason, drainMs: number): boolean {
    const ending = this.#session?.end?.(reason === 'client-closed');
    if (!isPromise(ending)) return false;
    this.#busy = true;
    const control = this.#control;
    const timer = setTimeout(() => {
      if (!control.isOpen()) return;
      control.recordReason(
        reason,
        new Error(
          `the handler was still running ${formatDuration(drainMs)} after its input ended (--drain-timeout); stopped it`,
        ),
      );
      if (this.#session) void closeSession(this.#session);
      control.close(reason);
    }, drainMs);
    ending.then(
      () => {
        clearTimeout(timer);
        control.close(reason);
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.fail(error);
      },
    );
    return true;
  }

  /** The handler failed (threw, rejected, or called its context's fail): close the connection. */
  fail(error: unknown): void {
    if (!this.#control.isOpen()) return;
    this.#busy = false;
    this.#inbox.length = 0;
    // A term the handler refused to decode (over its work budget) is the client's doing, not the handler's.
    this.#control.close(error instanceof EtfError ? 'protocol-error' : 'handler-failed', toError(error));
  }

  // The decoder's frame handler: false stops it, leaving the rest of the chunk undecoded until `pump` resumes.
  #acceptFrame(frame: Buffer): boolean {
    // A handler that failed (or input that ended) on an earlier frame of this chunk sees nothing more.
    if (!this.#control.isOpen() || this.#control.isInputFinished()) return false;
    this.#connection.framesIn += 1;
    if (this.#host.traceMessages)
      this.#host.traceMessage({ id: this.#connection.id, direction: 'in', message: frame });
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
    const control = this.#control;
    if (this.#busy || control.isWaitingDrain() || !control.isOpen() || control.isInputFinished())
      return false;
    if (this.#outbox.bytes + this.#socket.writableLength <= REPLY_QUEUE_LIMIT) return true;
    this.#flush();
    return !control.isWaitingDrain() && control.isOpen();
  }

  /** Opens the handler's session; a session that opens asynchronously keeps the path busy until it has. */
  start(): void {
    const handler = this.#host.handler;
    const context = this.#createContext();
    let opened: HandlerSession | Promise<HandlerSession>;
    try {
      opened = handler.open(context);
    } catch (error) {
      this.#busy = true;
      queueMicrotask(() => this.fail(error));
      return;
    }
    if (isPromise(opened)) {
      this.#busy = true;
      this.#control.updateReading();
      opened.then(
        (session) => {
          this.#session = session;
          if (!this.#control.isOpen()) {
            void closeSession(session);
            return;
          }
          this.#busy = false;
          this.pump();
        },
        (error: unknown) => this.fail(error),
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
      else this.fail(error);
      return;
    }
    if (isPromise(result)) {
      this.#busy = true;
      this.#flush();
      this.#control.updateReading();
      result.then(
        (replies) => {
          if (!this.#control.isOpen()) return;
          this.#busy = false;
          this.#queueReplies(replies);
          this.pump();
        },
        (error: unknown) => this.fail(error),
      );
      return;
    }
    this.#queueReplies(result);
  }

  /**
   * Hands the handler what was received and held back (the inbox, then the bytes the decoder kept) for as
   * long as it may take more, sends the replies gathered so far, then decides what next: at the client's
   * end, once every message is answered, the decoder's end and then the end of input.
   */
  pump(): void {
    const control = this.#control;
    const inbox = this.#inbox;
    for (;;) {
      if (!control.isOpen() || control.isInputFinished()) return;
      while (inbox.length > 0 && this.#mayHandle()) this.#handle(inbox.shift()!);
      const decoder = this.#decoder;
      if (inbox.length === 0 && decoder !== undefined && decoder.buffered > 0 && this.#mayHandle()) {
        try {
          decoder.resume(this.#deliver);
        } catch (error) {
          this.#pendingError ??= error as Error;
        }
      }
      if (!control.isOpen() || control.isInputFinished()) return;
      this.#flush();
      if (this.#busy || control.isWaitingDrain() || inbox.length > 0) {
        control.updateReading();
        return;
      }
      // Every message received so far is answered.
      if (this.#pendingError) {
        const error = this.#pendingError;
        this.#endInput(error instanceof FrameTooLargeError ? 'too-large' : 'protocol-error', error);
        return;
      }
      if (control.hasClientEnded()) {
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
        control.finishInput('client-closed');
        return;
      }
      if (control.isDraining() && this.isBetweenMessages) {
        control.finishInput('shutdown');
        return;
      }
      control.updateReading();
      return;
    }
  }

  #queueReplies(replies: Replies): void {
    if (replies === undefined || replies === null) return;
    try {
      if (Array.isArray(replies)) {
        for (const reply of replies as readonly Reply[]) this.#outbox.push(reply);
      } else {
        this.#outbox.push(replies as Reply);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  // Replies produced together leave together: one cork per batch, so they share TLS records.
  #flush(): void {
    const outbox = this.#outbox;
    if (outbox.isEmpty) return;
    if (this.#control.isClosed() || this.#socket.destroyed) {
      outbox.clear(); // the peer is gone: nobody to send to
      return;
    }
    this.#control.wrote(outbox.flush());
  }

  // The input broke (a frame too large or cut short, a message the handler cannot take): read no more, but
  // let a handler that can finish (an `exec:` child) answer what it already took, then close with `reason`.
  #endInput(reason: CloseReason, error: Error): void {
    const control = this.#control;
    if (!control.isOpen()) return;
    this.#inbox.length = 0;
    if (this.#session?.end === undefined) {
      control.close(reason, error);
      return;
    }
    control.recordReason(reason, error);
    control.finishInput(reason);
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    if (waiters === undefined) return;
    this.#drainWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  #createContext(): SessionContext {
    const socket = this.#socket;
    const connection = this.#connection;
    const control = this.#control;
    const gone = (): boolean => control.isClosed() || socket.writableEnded || socket.destroyed;
    const context: SessionContext = {
      id: connection.id,
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort,
      protocol: socket instanceof TLSSocket ? socket.getProtocol() : null,
      alpnProtocol: (socket instanceof TLSSocket && socket.alpnProtocol) || false,
      client: connection.client,
      packet: this.#host.framing.mode,
      state: {},
      send: (replies) => {
        if (gone()) return false;
        this.#queueReplies(replies);
        this.#flush();
        return !control.isWaitingDrain();
      },
      sendFramed: this.#host.traceMessages
        ? undefined
        : (pieces, frames, bytes) => {
            if (gone()) return false;
            this.#flush();
            // Replies a handler framed itself (an `exec:` child's lines, in bulk), written as they are.
            control.wrote(this.#outbox.writeFramed(pieces, frames, bytes));
            return !control.isWaitingDrain();
          },
      waitForDrain: () => {
        if (!control.isWaitingDrain() || control.isClosed()) return Promise.resolve();
        return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve));
      },
      finish: (exit) => control.handlerExited(exit),
      fail: (error) => this.fail(error),
      // A client that takes nothing holds its queued replies until it does: drop them with the socket, now.
      abandon: (error) => control.close('too-slow', error, { abort: true }),
      countDropped: (count) => {
        connection.framesDropped += count;
      },
    };
    return context;
  }
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
