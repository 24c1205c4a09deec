import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { useColor, type Io } from '../io.js';
import { Recorder } from '../record/recording.js';
import { createLogger, type Logger } from '../log/logger.js';
import { formatDuration } from '../units.js';
import { createSessionSignal } from './deadline.js';
import type { InputMode } from './input.js';
import {
  describeConnection,
  logPeerDetails,
  openClient,
  type ClientConnectionOptions,
} from './open-client.js';
import type { OutputMode } from './output.js';
import { pipeSession } from './pipe.js';
import { reconnect, type ReconnectPolicy } from './reconnect.js';
import type { FramedClient } from './framed-client.js';
import type { TlsechoError } from '../errors.js';
import { replSession } from './repl.js';
import type { MessageFormat } from './term-messages.js';
import { formatTarget } from './target.js';
import { loadClientTlsSettings } from './tls-settings.js';

export interface ConnectOptions extends ClientConnectionOptions {
  /** How piped stdin is cut into messages (a terminal always sends one frame per entered line). */
  input: InputMode;
  output: OutputMode;
  /** `etf`: messages are Erlang term text sent as ETF, and replies are shown as terms. Default `text`. */
  format?: MessageFormat;
  /** Pipe mode: after stdin ends, how long to wait with nothing arriving before closing. */
  lingerMs: number;
  /** Pipe mode: every frame expects a reply, and the run fails when some are missing (default true). */
  wait?: boolean;
  /** Bounds the whole session when set. */
  timeoutMs?: number;
  verbose: boolean;
  color: boolean;
  /** On a terminal, keep the entered lines across sessions (`historyPath`). Default false; `connect` sets it. */
  history?: boolean;
  /** Write every frame sent and received to this file as it passes (the format of `proxy --record`). */
  record?: string;
  /** When set, a dropped connection is opened again with this back-off instead of ending the session. */
  reconnect?: ReconnectPolicy;
}

/**
 * `tlsecho connect`: an interactive session when stdin is a terminal, otherwise a filter from stdin to the
 * server and from the server to stdout. Resolves when the session ended normally (stdin done, Ctrl-D, or
 * the server closing); throws the typed error that ended it otherwise.
 */
export async function connectSession(options: ConnectOptions, io: Io): Promise<void> {
  const interactive = Boolean(io.stdin.isTTY);
  const log = createLogger(io.stderr, {
    color: useColor(io, { color: options.color }),
    level: options.verbose ? 'verbose' : 'info',
  });
  const target = formatTarget(options.target);
  const limit = options.timeoutMs === undefined ? '' : formatDuration(options.timeoutMs);
  const session = createSessionSignal(
    io,
    options.timeoutMs,
    () => `session with ${target} timed out after ${limit} (--timeout)`,
  );
  // Opened before connecting: a file that cannot be written fails the command before anything is sent.
  const recorder =
    options.record === undefined
      ? undefined
      : Recorder.open(resolve(io.cwd, options.record), { target, packet: options.packet });
  const startedAt = performance.now();
  try {
    const tls = await loadClientTlsSettings(options.tls, io.cwd);
    const client = await openClient(options, tls, io, log, { signal: session.signal, spinner: interactive });
    // Each connection is its own connection in the recording (1, 2, … after reconnecting), as replay opens them.
    let connections = 0;
    const recordFrames = (framed: FramedClient) => {
      const id = ++connections;
      if (recorder)
        framed.onFrame = (dir, frame) => recorder.record(id, dir, performance.now() - startedAt, frame);
    };
    recordFrames(client);
    // Each attempt is a new connection with the same TLS settings, verified (CA, pin, name) as the first.
    const policy = options.reconnect;
    const redial =
      policy === undefined
        ? undefined
        : async (reason: TlsechoError, stop?: AbortSignal, to: Logger = log): Promise<FramedClient> => {
            const signal = stop === undefined ? session.signal : AbortSignal.any([session.signal, stop]);
            // `stop` (the session ending while it waits) ends an attempt in flight too, but is not bound to
            // the connection made: ending a session lets replies to lines already sent arrive.
            const dial = () =>
              openClient(options, tls, io, to, { signal: session.signal, attemptSignal: stop, warn: false });
            const { client: fresh } = await reconnect(dial, reason, { policy, target, log: to, signal });
            recordFrames(fresh);
            to.verbose(describeConnection(fresh, options.tls));
            return fresh;
          };
    if (interactive) {
      log.info(describeConnection(client, options.tls));
      logPeerDetails(client, options.tls, log);
      await replSession(
        client,
        io,
        {
          output: options.output,
          format: options.format,
          history: options.history,
          reconnect: redial,
        },
        log,
      );
    } else {
      log.verbose(describeConnection(client, options.tls));
      logPeerDetails(client, options.tls, log);
      await pipeSession(client, io.stdin, io.stdout, { ...options, reconnect: redial }, log);
    }
  } finally {
    session.dispose();
    recorder?.close();
  }
}
