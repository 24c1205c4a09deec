import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import type { MessageFormat } from '../client/defaults.js';
import type { ClientConnectionOptions } from '../client/open-client.js';
import { formatTarget } from '../client/target.js';
import { loadClientTlsSettings, warnIfInsecure, warnPlain } from '../client/tls-settings.js';
import type { Io } from '../io.js';
import { createServeLogger, serve, type ServeOptions } from '../server/serve.js';
import { writesToDevNull } from './discarded-output.js';
import type { DisplayMode } from './frame-display.js';
import { Recorder } from '../record/recording.js';
import { createRelayHandler } from './relay.js';

/** What `tlsecho proxy` was asked to do: a listener as `serve` takes it, and the server to relay to. */
export interface ProxyOptions extends Omit<ServeOptions, 'handler' | 'execFraming' | 'logger'> {
  /** The server, and how to reach and trust it, as `connect` takes them (`packet` is the server's). */
  upstream: ClientConnectionOptions;
  output: DisplayMode;
  /** `etf`: frames are shown as the Erlang terms they encode (relayed unchanged either way). */
  format?: MessageFormat;
  /** Write every frame to this file as it passes (see Recorder). */
  record?: string;
}

/**
 * Runs the proxy until it is told to stop, as `serve` runs: the same certificates, announcement, logs,
 * limits and shutdown. Each client gets its own connection to the server; see createRelayHandler.
 */
export async function proxy(options: ProxyOptions, io: Io): Promise<void> {
  const startedAt = performance.now();
  const log = createServeLogger(options, io);
  // The server's trust settings are read before listening: a wrong --ca fails at start, not per client.
  const tls = await loadClientTlsSettings(options.upstream.tls, io.cwd);
  warnIfInsecure(tls, log);
  if (options.upstream.plain) warnPlain(log, '--upstream-plain');
  if (options.plain) {
    log.warn(
      'clients connect over plain TCP (--listen-plain): anyone between them and the proxy can read and change their sessions',
    );
  }
  const recorder =
    options.record === undefined
      ? undefined
      : Recorder.open(resolve(io.cwd, options.record), {
          target: formatTarget(options.upstream.target),
          packet: options.upstream.packet,
        });
  try {
    await serve(
      {
        ...options,
        execFraming: 'line',
        logger: log,
        handler: createRelayHandler({
          target: options.upstream.target,
          tls,
          packet: options.upstream.packet,
          maxFrame: options.upstream.maxFrame,
          connectTimeoutMs: options.upstream.connectTimeoutMs,
          proxyHeader: options.upstream.proxyHeader,
          plain: options.upstream.plain,
          // `> /dev/null`: relay only. Formatting frames nobody reads would cost most of the CPU per frame.
          display: writesToDevNull(io.stdout)
            ? undefined
            : { stream: io.stdout, mode: options.output, format: options.format },
          recorder,
          log,
          startedAt,
        }),
      },
      io,
    );
  } finally {
    recorder?.close();
  }
}
