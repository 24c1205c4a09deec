// The server's defaults and choices, apart from the server itself: `tlsecho --help` and the other commands
// describe serve's flags from these without loading the server.
import type { PacketMode } from '../codec/limits.js';
import type { MinTlsVersion } from '../tls/options.js';

/** Defaults for every limit: what `tlsecho serve --help` shows. */
export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 7000,
  packet: 4 as PacketMode,
  // Enough for any test or small service; a flood past it is refused at once instead of queued.
  maxConnections: 1000,
  handshakeTimeoutMs: 10_000,
  // Long enough for a person typing in `tlsecho connect`, short enough that abandoned sockets go away.
  idleTimeoutMs: 5 * 60_000,
  drainTimeoutMs: 10_000,
  minTls: '1.2' as MinTlsVersion,
} as const;

/** How messages cross to an `exec:` child: one line each (default), or frames in the connection's framing. */
export type ExecFraming = 'line' | 'raw';

export const EXEC_FRAMINGS: readonly ExecFraming[] = ['line', 'raw'];

/** Why `broadcast` cannot run under `--workers`: each worker process has its own clients. */
export const BROADCAST_WORKERS_CONFLICT =
  '--handler broadcast and --workers cannot go together: each worker process has its own clients, so a message would only reach the clients of the worker that received it';
