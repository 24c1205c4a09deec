import type { PacketMode } from '../../codec/limits.js';

/** One reply: bytes, or a string sent as UTF-8. */
export type Reply = Buffer | Uint8Array | string;

/** What a message handler may return: one reply, several (sent in order), or nothing. */
export type Replies = Reply | readonly Reply[] | void | null | undefined;

/** Who the client is, when the server requires client certificates (`--client-ca`). */
export interface ClientIdentity {
  /** The certificate's subject common name, when it has one. */
  commonName: string | undefined;
  /** The subject as `CN=alice, O=example`. */
  subject: string;
  /** `sha256:` + 64 lowercase hex of the client certificate. */
  fingerprint: string;
}

/** What a handler knows about the connection it serves. One context per connection. */
export interface HandlerContext {
  /** Connection number, counted from 1 since the server started; logs show it as `#id`. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Negotiated TLS version, e.g. `TLSv1.3`. */
  readonly protocol: string | null;
  readonly alpnProtocol: string | false;
  /** Set when the client presented a certificate that the server verified. */
  readonly client: ClientIdentity | undefined;
  readonly packet: PacketMode;
  /** Per-connection storage for the handler's own use. */
  readonly state: Record<string, unknown>;
  /**
   * Sends messages that answer no particular message (server push). Returns false when the client is not
   * reading fast enough; `waitForDrain()` resolves when it has caught up.
   */
  send(replies: Replies): boolean;
  waitForDrain(): Promise<void>;
}

/** The context a module handler receives: the connection as above, and two ways to end it. */
export interface ModuleHandlerContext extends HandlerContext {
  /**
   * Handle no more messages: close the connection once the replies already sent have gone out. A last
   * reply goes with `send()` before it; what the current call returns is not sent.
   */
  finish(): void;
  /** End this connection now, logged with `error`'s message; other connections go on. */
  fail(error: unknown): void;
}

/**
 * A message handler, as a module exports it: called once per received message, in order, never
 * concurrently on one connection. Its replies go out before the next message is handled. Throwing or
 * rejecting ends this connection alone. See docs/handlers.md.
 */
export type MessageHandler = (message: Buffer, context: ModuleHandlerContext) => Replies | Promise<Replies>;

/** How a handler ended its connection on its own (an `exec:` child exited). */
export interface HandlerExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** What a connection offers its handler beyond the public context. */
export interface SessionContext extends HandlerContext {
  /** The handler has nothing more to say (its process exited, or a module called finish()): close once pending replies are out. */
  finish(exit?: HandlerExit): void;
  /** The handler broke: close this connection, logged with `error`. */
  fail(error: unknown): void;
  /**
   * Sends `frames` replies already framed for the connection (`pieces`, written in order), with no object
   * per reply; returns as `send` does. Absent while each message is traced (`--verbose`): use `send`.
   */
  sendFramed?(pieces: readonly Buffer[], frames: number, bytes: number): boolean;
  /**
   * The client is not taking what is sent to it (a broadcast receiver past its reply bound): close now,
   * discarding the replies still queued for it, logged as `too slow` with `error`'s message.
   */
  abandon(error: Error): void;
  /** Counts messages meant for this client and not sent to it; its closing summary reports them. */
  countDropped(count: number): void;
}

/** A handler's per-connection state. */
export interface HandlerSession {
  /** Handles one message; a promise holds back the next message (and reading) until it settles. */
  message(frame: Buffer): Replies | Promise<Replies>;
  /**
   * No more messages will come: the client sent its last one (`clientClosed` true), or its input broke (a
   * frame too large or cut short) and the server reads no more. The connection closes once the returned
   * promise settles.
   */
  end?(clientClosed: boolean): void | Promise<void>;
  /** The connection is gone, whatever the reason: release what the session holds. */
  close?(): void | Promise<void>;
}

/** A handler the server runs: a name for logs and a way to start one session per connection. */
export interface Handler {
  /** As logs show it: `echo`, `exec:cat`, `./handler.js`. */
  readonly name: string;
  /**
   * True when every reply is its message, unchanged. The connection then sends back the received bytes as
   * they are, frame-aligned, without decoding into messages: the echo fast path.
   */
  readonly echoesUnchanged?: boolean;
  open(context: SessionContext): HandlerSession | Promise<HandlerSession>;
}
