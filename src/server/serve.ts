import { describeCertificate, validityProblem } from '../certs/inspect.js';
import { useColor, type Io } from '../io.js';
import { createLogger, type LogFields, type Logger, type LogLevel } from '../log/logger.js';
import type { PacketMode } from '../codec/limits.js';
import type { MinTlsVersion } from '../tls/options.js';
import { formatDuration } from '../units.js';
import { announceEphemeralCertificate, connectLinesLogger } from './connect-lines.js';
import { loadServerCredentials, type ServerCredentials } from './credentials.js';
import type { BroadcastOptions } from './handlers/broadcast.js';
import type { ExecFraming } from './handlers/exec.js';
import type { Handler } from './handlers/types.js';
import { logServerEvents } from './server-log.js';
import { createServer, formatAddress, SERVER_DEFAULTS, type TlsechoServer } from './server.js';

// Per-connection lines that come within this long of the last write are written together with the next: a
// person reading them cannot tell, and a busy server makes one write system call per window, not two per
// connection. Warnings, errors and the server's own lines (listening, shutting down) are never held back.
const LOG_COALESCE_MS = 50;

/** What `tlsecho serve` was asked to do, flags parsed: paths, not file contents. */
export interface ServeOptions {
  host: string;
  port: number;
  /** Listen on this inherited socket (systemd socket activation) instead of `host` and `port`. */
  listenFd?: number;
  packet: PacketMode;
  maxFrame?: number;
  cert?: string;
  key?: string;
  keyPassphraseFile?: string;
  caChain?: string;
  clientCa?: string;
  /** Lowest TLS version accepted; 1.2 when not given. */
  minTls?: MinTlsVersion;
  alpn?: string[];
  /** A handler spec as `--handler` takes it, or a Handler object (the proxy's relay). */
  handler: string | Handler;
  execFraming: ExecFraming;
  /** `--broadcast-self`, `--broadcast-drop`. */
  broadcast?: BroadcastOptions;
  maxConnections: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  drainTimeoutMs: number;
  /** Exit after this many connections have been accepted and have closed. */
  maxAccepts?: number;
  json: boolean;
  logLevel: LogLevel;
  color: boolean;
  /** Read a PROXY protocol header (v1 or v2) before each handshake and log the client it names. */
  proxyProtocol?: boolean;
  /** Plain TCP clients instead of TLS ones (`proxy --listen-plain`): no certificate is loaded or made. */
  plain?: boolean;
  /** Credentials already loaded (a `--workers` primary loads them once for all workers); skips the files. */
  credentials?: ServerCredentials;
  /** Fields added to every JSON log line, e.g. `{ worker: 1 }`. */
  logBase?: LogFields;
  /** How long per-connection log lines may wait to share a write (default 50 ms; see LOG_COALESCE_MS). */
  logCoalesceMs?: number;
  /**
   * Print the lines needed to connect (listening address; for an ephemeral certificate, its fingerprint
   * and the connect command) even when `logLevel` hides info lines, as under --quiet. Default true; a
   * `--workers` worker sets false, since the primary prints them once for all.
   */
  announceWhenQuiet?: boolean;
  /** Called with the server before it listens, to subscribe to its events. */
  onServer?: (server: TlsechoServer) => void;
  /** Log here instead of a logger of serve's own, so a caller's lines (the proxy's) share its stream and order. */
  logger?: Logger;
}

/**
 * Runs the server until it is told to stop: SIGINT/SIGTERM (drain, then exit; a second signal closes
 * everything at once) or `maxAccepts` connections served. Resolves when every connection is closed;
 * rejects with a typed error when the server cannot start.
 */
export async function serve(options: ServeOptions, io: Io): Promise<void> {
  const log = options.logger ?? createServeLogger(options, io);
  // However the process ends, lines held back for the next write still reach stderr.
  const stopFlushingAtExit = io.onExit(() => log.flush());
  const announcer = options.announceWhenQuiet === false ? log : connectLinesLogger(log, io, options);
  try {
    await run(options, io, log, announcer);
  } finally {
    log.flush();
    stopFlushingAtExit();
  }
}

/** The logger `serve` writes with: stderr, per-connection lines coalesced (see LOG_COALESCE_MS). */
export function createServeLogger(
  options: Pick<ServeOptions, 'json' | 'logLevel' | 'color' | 'logBase' | 'logCoalesceMs'>,
  io: Io,
): Logger {
  return createLogger(io.stderr, {
    json: options.json,
    level: options.logLevel,
    color: useColor(io, { json: options.json, color: options.color }),
    base: options.logBase,
    coalesceMs: options.logCoalesceMs ?? LOG_COALESCE_MS,
  });
}

async function run(options: ServeOptions, io: Io, log: Logger, announcer: Logger): Promise<void> {
  const credentials = options.plain
    ? {}
    : (options.credentials ?? (await loadServerCredentials(options, io)));
  const server = createServer({
    host: options.host,
    port: options.port,
    listenFd: options.listenFd,
    cert: credentials.cert,
    key: credentials.key,
    passphrase: credentials.passphrase,
    caChain: credentials.caChain,
    clientCa: credentials.clientCa,
    minTls: options.minTls,
    alpn: options.alpn,
    packet: options.packet,
    maxFrame: options.maxFrame,
    handler: options.handler,
    execFraming: options.execFraming,
    broadcast: options.broadcast,
    cwd: io.cwd,
    env: io.env,
    maxConnections: options.maxConnections,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    drainTimeoutMs: options.drainTimeoutMs,
    proxyProtocol: options.proxyProtocol,
    plain: options.plain,
    traceMessages: log.enabled('verbose'),
  });
  logServerEvents(server, log, { maxConnections: options.maxConnections });
  options.onServer?.(server);
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const stopWatching = watchSignals(server, io, log, options.drainTimeoutMs);
  try {
    await server.listen();
    announce(server, options, credentials, log, announcer);
    if (options.maxAccepts !== undefined) stopAfter(server, options.maxAccepts, log);
    await closed;
    const stats = server.stats;
    log.info(`stopped after ${stats.accepted} ${stats.accepted === 1 ? 'connection' : 'connections'}`, {
      event: 'stopped',
      ...stats,
    });
  } finally {
    stopWatching();
  }
}

// A certificate past its dates still loads, and every client that verifies it refuses the handshake.
function warnIfOutOfDate(credentials: ServerCredentials, log: Logger): void {
  if (credentials.cert === undefined) return;
  const problem = validityProblem(describeCertificate(credentials.cert));
  if (problem === undefined) return;
  log.warn(
    `certificate ${credentials.certFile ?? ''} ${problem}: clients that verify it will refuse the handshake`,
    { event: 'certificate-dates', file: credentials.certFile, problem },
  );
}

// Certificate first, readiness last: a script that waits for "listening on" has everything it needs then.
// `always` carries the lines needed to connect, which --quiet keeps; `log` the rest.
function announce(
  server: TlsechoServer,
  options: ServeOptions,
  credentials: ServerCredentials,
  log: Logger,
  always: Logger,
): void {
  const address = server.address()!;
  const bound = formatAddress(address.address, address.port);
  const certificate = server.certificate;
  if (certificate === undefined) {
    // A plain listener (`plain`): no certificate to announce.
  } else if (certificate.ephemeral) {
    announceEphemeralCertificate(always, certificate.fingerprint, address);
  } else {
    const chain = credentials.chainLength ?? 0;
    const sentWith =
      chain === 0 ? '' : `, sent with ${chain} chain ${chain === 1 ? 'certificate' : 'certificates'}`;
    log.info(`certificate ${credentials.certFile ?? ''} (${certificate.fingerprint})${sentWith}`, {
      event: 'certificate',
      ephemeral: false,
      file: credentials.certFile,
      fingerprint: certificate.fingerprint,
      chain,
    });
    warnIfOutOfDate(credentials, log);
  }
  const mtls = credentials.clientCa !== undefined ? ', client certificates required' : '';
  const proxy = options.proxyProtocol ? ', PROXY protocol header required' : '';
  const plain = certificate === undefined ? ', plain TCP, NOT encrypted' : '';
  const inherited = options.listenFd === undefined ? '' : ', socket from systemd';
  always.info(
    `listening on ${bound} (packet ${options.packet}, ${server.handlerName}${mtls}${proxy}${plain}${inherited})`,
    {
      event: 'listening',
      address: address.address,
      port: address.port,
      ...(options.listenFd === undefined ? {} : { fd: options.listenFd }),
      packet: options.packet,
      handler: server.handlerName,
      clientCertificates: credentials.clientCa !== undefined,
      fingerprint: certificate?.fingerprint ?? null,
      ...(certificate === undefined ? { encrypted: false } : {}),
    },
  );
}

function watchSignals(server: TlsechoServer, io: Io, log: Logger, drainMs: number): () => void {
  let received = 0;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    received += 1;
    if (received === 1) {
      const open = server.connections;
      // Close the listening socket before saying so: whoever acts on the log line (a supervisor, a test)
      // must find new connections refused, not accepted into the backlog and then reset.
      // close() only resolves; serve already waits for it through the server's 'close'.
      void server.close(drainMs);
      log.info(
        open === 0
          ? `${signal}: shutting down`
          : `${signal}: shutting down, letting ${open} open ${open === 1 ? 'connection' : 'connections'} finish (up to ${formatDuration(drainMs)}; signal again to close now)`,
        { event: 'shutdown', signal, open, drainTimeoutMs: drainMs },
      );
    } else {
      log.warn(`${signal} again: closing ${server.connections} connections now`, {
        event: 'shutdown-now',
        signal,
      });
      // Cuts short the close() already under way, which serve is waiting for.
      void server.destroy();
    }
  };
  const offInt = io.onSignal('SIGINT', () => onSignal('SIGINT'));
  const offTerm = io.onSignal('SIGTERM', () => onSignal('SIGTERM'));
  return () => {
    offInt();
    offTerm();
  };
}

// Accept exactly `count` connections, then wait for them to end on their own and stop.
function stopAfter(server: TlsechoServer, count: number, log: Logger): void {
  let accepted = 0;
  let closed = 0;
  server.on('connection', () => {
    accepted += 1;
    if (accepted === count) server.stopAccepting();
  });
  server.on('disconnect', () => {
    closed += 1;
    if (closed === count) {
      log.debug(`served ${count} connections (--max-accepts): stopping`, { event: 'max-accepts' });
      // close() only resolves; serve already waits for it through the server's 'close'.
      void server.close(0);
    }
  });
}

export { SERVER_DEFAULTS };
