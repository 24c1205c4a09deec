import { EventEmitter } from 'node:events';
import {
  createServer as createNetServer,
  Socket as NetSocket,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, TLSSocket, type Server as TlsServer } from 'node:tls';
import { createFraming, type Framing } from '../codec/framing.js';
import { defaultMaxFrame, type PacketMode } from '../codec/limits.js';
import { fingerprintOfPem } from '../certs/fingerprint.js';
import { generateEphemeralServerCert } from '../certs/generate-on-demand.js';
import { UsageError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { buildServerTlsOptions, checkCertKeyPair, type MinTlsVersion } from '../tls/options.js';
import {
  Connection,
  type ConnectionHost,
  type ConnectionInfo,
  type ConnectionSummary,
  type MessageTrace,
} from './connection.js';
import { createAdmissionListener } from './admission.js';
import { classifyHandshakeFailure, type HandshakeFailure } from './handshake-failure.js';
import {
  resolveHandler,
  type BroadcastOptions,
  type ExecFraming,
  type HandlerSpec,
} from './handlers/index.js';
import {
  createProxyListener,
  proxiedPeer,
  type ProxyHeaderFailure,
  type ProxyHealthCheck,
} from './proxy-listener.js';
import type { Handler } from './handlers/types.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { unixSocketRefused } from './listen-fds.js';

export { SERVER_DEFAULTS };

// The sweep checks timeouts this often (a quarter of the idle timeout, within these bounds), so an idle
// connection is closed at most a quarter late and a server with many connections wakes rarely.
const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;
// After we end a connection the peer gets this long to close its side before the socket is destroyed.
const CLOSE_GRACE_MS = 2000;

/** Everything `tlsecho serve` can be told, without the command line: the library's way in. */
export interface ServerOptions {
  /** Default 127.0.0.1: listening on every interface is a choice to make on purpose. */
  host?: string;
  /** Default 7000; 0 picks a free port (see `listen()`'s result). */
  port?: number;
  /**
   * Listen on this already-bound socket instead of `host` and `port`, which are then ignored: a socket
   * passed by systemd socket activation (see `listenFdsFromEnv`). Closing the server closes this process's
   * copy of it; the service manager keeps its own.
   */
  listenFd?: number;
  /** PEM texts. Without cert and key the server makes an ephemeral self-signed certificate at `listen()`. */
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Intermediate certificates sent after the leaf. */
  caChain?: string;
  /** Require client certificates issued by this CA (mutual TLS); the client's identity reaches the handler. */
  clientCa?: string;
  minTls?: MinTlsVersion;
  alpn?: string[];
  packet?: PacketMode;
  maxFrame?: number;
  /** `echo` (default), `exec:CMD`, a module path such as `./handler.js`, a function, or a Handler. */
  handler?: HandlerSpec;
  /** How `exec:` handlers talk to their process: one line per message (default) or raw frames. */
  execFraming?: ExecFraming;
  /** For `broadcast`: also send each message back to its sender; drop, not disconnect, a receiver that falls behind. */
  broadcast?: BroadcastOptions;
  /** Where module handler paths are resolved from; default the process's working directory. */
  cwd?: string;
  /** Environment of `exec:` children; default the process's. */
  env?: Record<string, string | undefined>;
  maxConnections?: number;
  handshakeTimeoutMs?: number;
  /** Close connections with no complete message or reply for this long; an unfinished frame does not count. */
  idleTimeoutMs?: number;
  /** How long `close()` lets open connections finish by default. */
  drainTimeoutMs?: number;
  /**
   * Behind a load balancer: read a PROXY protocol header (v1 or v2) before each TLS handshake, within the
   * handshake timeout, and use the client it names in logs and in the handler's context. Connections
   * without a valid header are refused (`proxyError`).
   */
  proxyProtocol?: boolean;
  /** Emit a `message` event for every message in and out (`--verbose`). Off keeps the echo path lean. */
  traceMessages?: boolean;
  /**
   * Accept plain TCP clients instead of TLS ones, as an Erlang `gen_tcp` listener does: nothing is encrypted,
   * no certificate is made or loaded, and `cert`, `key`, `clientCa` and `proxyProtocol` are refused.
   */
  plain?: boolean;
}

/** The certificate the server presents. */
export interface ServerCertificate {
  certPem: string;
  fingerprint: string;
  /** True when made in memory because no certificate was given. */
  ephemeral: boolean;
}

/** A refused connection (over `maxConnections`). */
export interface RefusedConnection {
  remoteAddress: string;
  remotePort: number;
  open: number;
}

/** A line an `exec:` child wrote on its stderr. */
export interface HandlerOutput {
  id: number;
  line: string;
}

export interface ServerStats {
  accepted: number;
  open: number;
  closed: number;
  refused: number;
  handshakeFailures: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** Events a TlsechoServer emits. */
export interface ServerEvents {
  listening: [address: AddressInfo];
  /** A client completed its handshake. */
  connection: [info: ConnectionInfo];
  /** A connection closed, with its summary. */
  disconnect: [summary: ConnectionSummary];
  /** A handshake failed: not TLS, too old a TLS version, a bad client certificate, a timeout. */
  tlsError: [failure: HandshakeFailure];
  refused: [refused: RefusedConnection];
  /** With `proxyProtocol`: a connection without a valid PROXY header, refused. */
  proxyError: [failure: ProxyHeaderFailure];
  /** With `proxyProtocol`: the balancer's health check (a LOCAL header, then a close). */
  healthCheck: [check: ProxyHealthCheck];
  message: [trace: MessageTrace];
  handlerOutput: [output: HandlerOutput];
  /** Advice about a handler, for the log (an `exec:` child that sits on its messages). */
  handlerWarning: [warning: { id: number; message: string }];
  /** The listening socket failed after `listen()` succeeded. */
  error: [error: Error];
  /** The server stopped and every connection is gone. */
  close: [];
}

/**
 * A framed TLS server: one handler session per connection, each connection independent of the others.
 * Create with `createServer`, then `await listen()`.
 */
export class TlsechoServer extends EventEmitter<ServerEvents> {
  readonly options: Readonly<ServerOptions>;

  readonly #framing: Framing;
  #certificate: ServerCertificate | undefined;
  // What connections share with the server, built by listen(): a plain object, not the server itself, so
  // the handler, the clock and the closing hook are no part of the public surface and no user can change them.
  #host: ServerHost | undefined;
  #tls: TlsServer | undefined;
  // The socket that listens: the TLS server itself, or with proxyProtocol the TCP server in front of it.
  #listener: NetServer | undefined;
  #connections = new Set<Connection>();
  // Every TCP socket, handshake finished or not: a client still in its handshake is no Connection yet but
  // must not keep a closing server waiting for its handshake timeout.
  #sockets = new Set<Socket>();
  #nextId = 1;
  #sweeper: NodeJS.Timeout | undefined;
  #idleTicks = 0;
  #graceTicks = 0;
  #closing: Promise<void> | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #whenEmpty: (() => void) | undefined;
  #accepting = true;
  #stats: Omit<ServerStats, 'open'> = {
    accepted: 0,
    closed: 0,
    refused: 0,
    handshakeFailures: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };

  constructor(options: ServerOptions = {}) {
    super();
    this.options = { ...options };
    const packet = options.packet ?? SERVER_DEFAULTS.packet;
    this.#framing = createFraming(packet, options.maxFrame ?? defaultMaxFrame(packet));
    checkLimit('maxConnections', options.maxConnections, 1);
    checkLimit('handshakeTimeoutMs', options.handshakeTimeoutMs, 1);
    checkLimit('idleTimeoutMs', options.idleTimeoutMs, 1);
    checkLimit('drainTimeoutMs', options.drainTimeoutMs, 0);
  }

  /** The certificate the server presents (its fingerprint, for clients to pin), once `listen()` resolved. */
  get certificate(): ServerCertificate | undefined {
    return this.#certificate;
  }

  /** The handler's name as logs show it (`echo`, `exec: CMD`, a module path), once `listen()` resolved. */
  get handlerName(): string | undefined {
    return this.#host?.handler.name;
  }

  /** Open connections. */
  get connections(): number {
    return this.#connections.size;
  }

  get stats(): ServerStats {
    return { ...this.#stats, open: this.#connections.size };
  }

  /** The bound address, or null before `listen()` and after `close()`. */
  address(): AddressInfo | null {
    const address = this.#listener?.address();
    return address && typeof address === 'object' ? address : null;
  }

  /**
   * Loads the handler, makes an ephemeral certificate if none was given, and starts listening. Rejects with
   * a ConnectionError (address in use, permission denied) naming the address.
   */
  async listen(): Promise<AddressInfo> {
    if (this.#tls || this.#listener) throw new Error('listen() was already called');
    const options = this.options;
    if (options.plain) checkPlainOptions(options);
    const host = options.host ?? SERVER_DEFAULTS.host;
    const port = options.port ?? SERVER_DEFAULTS.port;
    const [handler, certificate] = await Promise.all([
      resolveHandler(options.handler ?? 'echo', {
        cwd: options.cwd ?? process.cwd(),
        env: options.env ?? process.env,
        execFraming: options.execFraming ?? 'line',
        broadcast: options.broadcast,
        framing: this.#framing,
        onStderr: (id, line) => this.emit('handlerOutput', { id, line }),
        onWarning: (id, message) => this.emit('handlerWarning', { id, message }),
      }),
      options.plain ? undefined : this.#loadCertificate(),
    ]);
    this.#host = this.#createHost(handler);
    if (certificate === undefined) return this.#listenPlain(host, port);
    this.#certificate = Object.freeze(certificate);
    const tlsOptions = buildServerTlsOptions({
      cert: certificate.certPem,
      key: options.key ?? this.#ephemeralKey!,
      passphrase: options.passphrase,
      caChain: options.caChain,
      clientCa: options.clientCa,
      minTls: options.minTls,
      alpn: options.alpn,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? SERVER_DEFAULTS.handshakeTimeoutMs,
    });
    this.#ephemeralKey = undefined;
    let server: TlsServer;
    try {
      server = createTlsServer({ ...tlsOptions, allowHalfOpen: true, noDelay: true });
    } catch (error) {
      throw describeTlsSetupError(error);
    }
    this.#tls = server;
    const { full, refused } = this.#admission();
    const listener = options.proxyProtocol
      ? createProxyListener(
          server,
          { timeoutMs: options.handshakeTimeoutMs ?? SERVER_DEFAULTS.handshakeTimeoutMs },
          {
            accepted: (socket) => this.#track(socket),
            accepting: () => this.#accepting,
            full,
            refused,
            failed: (failure) => {
              this.#stats.handshakeFailures += 1;
              this.emit('proxyError', failure);
            },
            healthCheck: (check) => this.emit('healthCheck', check),
          },
        )
      : createAdmissionListener(server, { full, refused });
    this.#listener = listener;
    const identifyClient = options.clientCa !== undefined;
    server.on('connection', (socket: TrackedSocket) => this.#track(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.#accept(socket, identifyClient));
    server.on('tlsClientError', (error, socket) => {
      this.#stats.handshakeFailures += 1;
      const failure = classifyHandshakeFailure(error, socket, (socket as { _parent?: Socket })._parent);
      const peer = proxiedPeer(socket);
      if (peer) {
        failure.remoteAddress = peer.address;
        failure.remotePort = peer.port ?? 0;
      }
      // Node leaves a timed-out handshake's socket open; nothing good can come of it.
      socket.destroy();
      this.emit('tlsError', failure);
    });
    return this.#bind(listener, host, port);
  }

  // Plain TCP: each admitted socket is a connection at once; there is no handshake to wait for.
  #listenPlain(host: string, port: number): Promise<AddressInfo> {
    const { full, refused } = this.#admission();
    const listener = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (full()) {
        refused(socket);
        // No TLS alert to send a plain client: closed at once, as a full gen_tcp acceptor would.
        socket.destroy();
        return;
      }
      this.#track(socket);
      this.#accept(socket, false);
    });
    this.#listener = listener;
    return this.#bind(listener, host, port);
  }

  #admission(): { full(): boolean; refused(socket: Socket): void } {
    const maxConnections = this.options.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    return {
      full: () => this.#sockets.size >= maxConnections,
      refused: (socket) => {
        this.#stats.refused += 1;
        this.emit('refused', {
          remoteAddress: socket.remoteAddress ?? '',
          remotePort: socket.remotePort ?? 0,
          open: this.#connections.size,
        });
      },
    };
  }

  async #bind(listener: NetServer, host: string, port: number): Promise<AddressInfo> {
    const options = this.options;
    const inherited = options.listenFd === undefined ? undefined : wrapListeningSocket(options.listenFd);
    const bound = await new Promise<AddressInfo>((resolve, reject) => {
      const onError = (error: Error) => {
        this.#tls = undefined;
        this.#listener = undefined;
        const where =
          options.listenFd === undefined ? formatAddress(host, port) : `inherited socket ${options.listenFd}`;
        reject(describeSocketError(error, where));
      };
      listener.once('error', onError);
      const onListening = () => {
        listener.off('error', onError);
        const address = listener.address();
        // A .socket unit with ListenStream=/path passes a Unix socket. Its clients have no address to log,
        // rate-limit or put in a PROXY header, and no tlsecho client can dial a path: refuse it plainly. (Node
        // gives an inherited one's address as '', not its path.)
        if (typeof address === 'string' || address === null) {
          listener.close();
          this.#tls = undefined;
          this.#listener = undefined;
          reject(unixSocketRefused(options.listenFd!));
          return;
        }
        listener.on('error', (error) => this.emit('error', error));
        resolve(address);
      };
      if (inherited === undefined) listener.listen({ host, port }, onListening);
      else listener.listen(inherited, onListening);
    });
    this.#startSweeping();
    this.emit('listening', bound);
    return bound;
  }

  /**
   * Stops accepting new connections and leaves open ones alone (no drain): for `--max-accepts`, which
   * waits for the last accepted connections to end on their own.
   */
  stopAccepting(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#listener?.close();
  }

  /**
   * Stops accepting, lets open connections finish their current exchange for up to `drainMs` (default the
   * `drainTimeoutMs` option), then closes the rest, replies already queued included. Resolves when every
   * connection is gone. Calling it again with a shorter time cuts the wait; `destroy()` ends at once.
   */
  close(drainMs = this.options.drainTimeoutMs ?? SERVER_DEFAULTS.drainTimeoutMs): Promise<void> {
    clearTimeout(this.#drainTimer);
    const endDrain = () => {
      for (const connection of this.#connections) connection.shutdown();
    };
    if (drainMs <= 0) endDrain();
    else this.#drainTimer = setTimeout(endDrain, drainMs).unref();
    if (this.#closing) return this.#closing;
    this.#closing = new Promise<void>((resolve) => {
      let pending = 2; // the listening socket, and the last connection
      const done = () => {
        pending -= 1;
        if (pending > 0) return;
        clearTimeout(this.#drainTimer);
        this.#stopSweeping();
        this.emit('close');
        resolve();
      };
      this.#whenEmpty = done;
      this.#accepting = false;
      // The listening socket may already be closed (stopAccepting); 'close' still comes once the last
      // socket it accepted is gone, and close() just reports that it was not running.
      if (this.#listener?.listening) this.#listener.close(() => done());
      else done();
      if (this.#connections.size === 0) this.#emptied();
      for (const connection of this.#connections) connection.drain();
    });
    return this.#closing;
  }

  /** Stops at once: every connection is destroyed, queued replies or not (a second Ctrl-C). */
  destroy(): Promise<void> {
    const closing = this.close(0);
    for (const connection of this.#connections) connection.destroy();
    for (const socket of this.#sockets) socket.destroy();
    return closing;
  }

  #createHost(handler: Handler): ServerHost {
    return {
      framing: this.#framing,
      handler,
      traceMessages: this.options.traceMessages ?? false,
      tick: 0,
      drainTimeoutMs: this.options.drainTimeoutMs ?? SERVER_DEFAULTS.drainTimeoutMs,
      traceMessage: (trace: MessageTrace) => {
        this.emit('message', trace);
      },
      connectionClosed: (connection: Connection, summary: ConnectionSummary) => {
        this.#connectionClosed(connection, summary);
      },
    };
  }

  #connectionClosed(connection: Connection, summary: ConnectionSummary): void {
    this.#connections.delete(connection);
    const stats = this.#stats;
    stats.closed += 1;
    stats.framesIn += summary.framesIn;
    stats.framesOut += summary.framesOut;
    stats.bytesIn += summary.bytesIn;
    stats.bytesOut += summary.bytesOut;
    this.emit('disconnect', summary);
    if (this.#connections.size === 0) this.#emptied();
  }

  #track(socket: TrackedSocket): void {
    // With proxyProtocol the TCP listener tracks a socket first, then the TLS server sees it again.
    if (socket[kSockets]) return;
    // Asking once makes the socket remember its peer, which a failed handshake's log line names after
    // the socket is gone.
    void socket.remoteAddress;
    this.#sockets.add(socket);
    socket[kSockets] = this.#sockets;
    socket.on('close', forgetSocket);
  }

  #emptied(): void {
    // Not accepting any more: whatever is left is a handshake that would be refused anyway.
    if (!this.#accepting) for (const socket of this.#sockets) socket.destroy();
    const whenEmpty = this.#whenEmpty;
    this.#whenEmpty = undefined;
    whenEmpty?.();
  }

  // --- internals ---

  #ephemeralKey: string | undefined;

  async #loadCertificate(): Promise<ServerCertificate> {
    const { cert, key } = this.options;
    if (cert !== undefined && key !== undefined) {
      return { certPem: cert, fingerprint: fingerprintOfPem(cert), ephemeral: false };
    }
    checkCertKeyPair(cert, key, { cert: 'cert', key: 'key' });
    const generated = await generateEphemeralServerCert();
    this.#ephemeralKey = generated.keyPem;
    return { certPem: generated.certPem, fingerprint: generated.fingerprint, ephemeral: true };
  }

  #accept(socket: Socket, identifyClient: boolean): void {
    // Handshakes that were under way when we stopped accepting.
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    const connection = new Connection(this.#nextId++, socket, this.#host!, {
      identifyClient,
      peer: socket instanceof TLSSocket ? (proxiedPeer(socket) ?? knownPeer(socket)) : undefined,
    });
    this.#connections.add(connection);
    this.#stats.accepted += 1;
    if (this.listenerCount('connection') > 0) this.emit('connection', connection.info());
  }

  #startSweeping(): void {
    const idleMs = this.options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs;
    const periodMs = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(idleMs / 4)));
    this.#idleTicks = Math.ceil(idleMs / periodMs);
    this.#graceTicks = Math.ceil(Math.min(CLOSE_GRACE_MS, idleMs) / periodMs);
    this.#sweeper = setInterval(() => this.#sweep(), periodMs).unref();
  }

  #stopSweeping(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    const host = this.#host!;
    host.tick += 1;
    const { tick } = host;
    for (const connection of this.#connections) connection.sweep(tick, this.#idleTicks, this.#graceTicks);
  }
}

// The server's side of ConnectionHost: connections read it, only the server writes it (the sweep advances tick).
type ServerHost = { -readonly [K in keyof ConnectionHost]: ConnectionHost[K] };

const kSockets = Symbol('tlsecho.sockets');
type TrackedSocket = Socket & { [kSockets]?: Set<Socket> };

// The TCP socket under a TLS socket learned its peer in #track. Asking the TLS socket instead would make a
// second getpeername system call through its own handle: about 10 µs of a 1 ms handshake, measured.
function knownPeer(socket: TLSSocket): { address: string; port: number } | undefined {
  const parent = (socket as { _parent?: Socket })._parent;
  const address = parent?.remoteAddress;
  return address === undefined ? undefined : { address, port: parent!.remotePort ?? 0 };
}

// Shared by every socket (`this` is the socket): no closure per connection.
function forgetSocket(this: TrackedSocket): void {
  this[kSockets]?.delete(this);
}

// An inherited listening socket, as a handle to listen on. Not `listen({ fd })`: in a node:cluster worker
// that asks the primary to open the descriptor, whose number means something else there (or nothing),
// while listening on a socket object's handle stays in this process (net.Server#listen(handle)). Neither
// readable nor writable, so the wrapper never reads from the listening socket itself.
function wrapListeningSocket(fd: number): Socket {
  try {
    return new NetSocket({ fd, readable: false, writable: false });
  } catch (error) {
    throw new UsageError(`inherited descriptor ${fd} is not a stream socket`, { cause: error });
  }
}

/** A framed TLS server with the same options as `tlsecho serve`. Nothing happens until `listen()`. */
export function createServer(options: ServerOptions = {}): TlsechoServer {
  return new TlsechoServer(options);
}

/** `127.0.0.1:7000`, `[::1]:7000`. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// Each of these only means something with TLS (or, for proxyProtocol, in front of a TLS handshake).
function checkPlainOptions(options: ServerOptions): void {
  for (const name of ['cert', 'key', 'clientCa', 'proxyProtocol'] as const) {
    if (options[name] !== undefined && options[name] !== false) {
      throw new UsageError(`a plain TCP server takes no ${name}: it speaks no TLS`);
    }
  }
}

function checkLimit(name: string, value: number | undefined, minimum: number): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < minimum) {
    throw new UsageError(`invalid ${name} ${value}: must be a number of at least ${minimum}`);
  }
}

function describeTlsSetupError(error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new UsageError(`cannot use the server certificate and key: ${reason}`, { cause: error });
}
