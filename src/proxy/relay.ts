import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { connectFramed } from '../client/dial.js';
import { localProxyHeader, type ProxyHeaderVersion } from '../client/proxy-header.js';
import { formatTarget, type Target } from '../client/target.js';
import type { MessageFormat } from '../client/defaults.js';
import type { PacketMode } from '../codec/limits.js';
import { isTlsechoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Handler, HandlerSession, SessionContext } from '../server/handlers/types.js';
import type { ClientTlsSettings } from '../tls/options.js';
import { formatFrame, type DisplayMode } from './frame-display.js';
import type { Direction, Recorder } from '../record/recording.js';
import { whenDrained } from '../when-drained.js';

/** Where and how the relay reaches the server, and what it does with each frame on the way. */
export interface RelayOptions {
  target: Target;
  tls: ClientTlsSettings;
  /** The server's framing; the client's is the listener's (`--packet`). */
  packet: PacketMode;
  maxFrame: number;
  connectTimeoutMs: number;
  proxyHeader?: ProxyHeaderVersion;
  /** Reach the server over plain TCP, without TLS (`--upstream-plain`). */
  plain?: boolean;
  /** Where frames are shown (stdout), and how; undefined when nobody would see them (see writesToDevNull). */
  display?: { stream: Writable; mode: DisplayMode; format?: MessageFormat };
  recorder?: Recorder;
  log: Logger;
  /** The origin of the `t` times shown and recorded (performance.now() when the proxy started). */
  startedAt: number;
}

/**
 * The proxy as a server handler: each client connection opens one connection to the server, and frames go
 * both ways unchanged, shown and recorded as they pass.
 *
 * Flow control, end to end: a client frame is handed on only when the server connection has room (the
 * handler's promise holds back the client's next frame, and the listener stops reading the client); a
 * server frame is handed on only when the client connection has room (`waitForDrain`), and meanwhile the
 * server connection stops reading once its own small queue is full. Showing frames on a slow stdout also
 * waits. Memory stays bounded whichever side is slow.
 */
export function createRelayHandler(options: RelayOptions): Handler {
  const target = formatTarget(options.target);
  return {
    name: `proxy to ${target}`,
    open: (context) => openRelay(context, options, target),
  };
}

async function openRelay(
  context: SessionContext,
  options: RelayOptions,
  target: string,
): Promise<HandlerSession> {
  const log = options.log.batched;
  const id = context.id;
  const upstream = await connectFramed({
    ...options.target,
    tls: options.tls,
    packet: options.packet,
    maxFrame: options.maxFrame,
    connectTimeoutMs: options.connectTimeoutMs,
    proxyHeader: options.proxyHeader === undefined ? undefined : localProxyHeader(options.proxyHeader),
    plain: options.plain,
  });
  const peer = upstream.peer;
  log.info(
    peer.encrypted !== false
      ? `[#${id}] connected to ${target}: ${peer.protocol ?? 'TLS'}, ${peer.fingerprint}, ${peer.verified ? 'verified' : 'NOT verified (--insecure)'}`
      : `[#${id}] connected to ${target}: plain TCP, NOT encrypted (--upstream-plain)`,
    {
      event: 'upstream-connected',
      id,
      target,
      // null over plain TCP (--upstream-plain), as `send --json` reports `"tls": null`.
      protocol: peer.encrypted !== false ? peer.protocol : null,
      verified: peer.verified,
    },
  );
  let clientEnded = false;
  let clientGone = false;

  // Shows and records a frame; a promise only when the display must drain before the frame goes on. Kept
  // synchronous otherwise: an async step per frame cost the relay 15–20% of its CPU per 64 B message.
  const pass = (dir: Direction, frame: Buffer): Promise<void> | undefined => {
    const t = performance.now() - options.startedAt;
    // Recorded before it is handed on: a frame the other side may have seen is in the file.
    options.recorder?.record(id, dir, t, frame);
    const display = options.display;
    if (
      display === undefined ||
      display.stream.write(formatFrame(display.mode, id, dir, t, frame, display.format))
    ) {
      return undefined;
    }
    return whenDrained(display.stream);
  };

  // Client → server. Throws FrameTooLargeError (or, in line mode, a newline) when the server's framing cannot
  // carry the frame; returned as a rejection, so the server treats it as the relay failing, as it always has.
  const forward = (frame: Buffer): Promise<void> | undefined => {
    try {
      return upstream.write(frame) ? undefined : upstream.drained();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };

  // Server → client, until the server closes (or fails); then the client is closed, saying why.
  const fromServer = (async () => {
    try {
      for await (const frame of upstream) {
        const shown = pass('s2c', frame);
        if (shown !== undefined) await shown;
        if (!context.send(frame)) await context.waitForDrain();
      }
    } catch (error) {
      if (clientGone) return;
      log.warn(`[#${id}] connection to ${target} failed: ${describe(error)}; closing the client`, {
        event: 'upstream-failed',
        id,
        target,
        code: isTlsechoError(error) ? error.code : undefined,
      });
      context.fail(error);
      return;
    }
    if (clientGone || clientEnded) return;
    log.info(`[#${id}] ${target} closed the connection; closing the client`, {
      event: 'upstream-closed',
      id,
      target,
    });
    context.finish();
  })();

  return {
    // A promise (holding back the client's next frame) only when the display or the server must drain.
    message: (frame) => {
      const shown = pass('c2s', frame);
      return shown === undefined ? forward(frame) : shown.then(() => forward(frame));
    },
    // The client is done sending: so are we, towards the server. Its remaining replies still go to the
    // client, until the server closes (the drain timeout bounds how long that may take).
    end: async (clientClosed) => {
      clientEnded = true;
      // When the client's input broke (a frame above --max-frame), the server's log line says why.
      log.info(
        clientClosed
          ? `[#${id}] the client closed its side; closing the connection to ${target}`
          : `[#${id}] reading from the client stopped; closing the connection to ${target}`,
        { event: clientClosed ? 'client-closed' : 'client-input-ended', id, target },
      );
      await Promise.all([upstream.end(), fromServer]);
    },
    // The client connection is gone, whatever the reason (reset, idle timeout, shutdown, a failure).
    close: () => {
      clientGone = true;
      if (upstream.socket.destroyed) return;
      if (!clientEnded) {
        log.info(`[#${id}] the client connection ended; closing the connection to ${target}`, {
          event: 'client-gone',
          id,
          target,
        });
      }
      upstream.destroy();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
