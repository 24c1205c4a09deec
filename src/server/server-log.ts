import { isIPv6 } from 'node:net';
import { FrameTooLargeError } from '../errors.js';
import { escapeControls } from '../escape.js';
import type { Logger } from '../log/logger.js';
import { formatDuration, formatSize } from '../units.js';
import type { ConnectionInfo, ConnectionSummary, CloseReason } from './connection-report.js';
import { previewBytes } from './preview.js';
import type { TlsechoServer } from './server.js';

const REASON_TEXT: Record<CloseReason, string> = {
  'client-closed': 'client closed',
  'idle-timeout': 'idle timeout',
  'too-large': 'frame too large',
  'protocol-error': 'protocol error',
  'handler-failed': 'handler failed',
  'handler-exited': 'handler exited',
  'too-slow': 'too slow',
  shutdown: 'shutdown',
  error: 'error',
};

/**
 * One log line per connection event, on the logger (stderr): accepted, closed with its summary, refused,
 * failed handshakes, and with `verbose` every message. `--json` turns each into a JSON line with an `event`
 * field and the same facts as fields. Whatever a peer chose (a certificate's subject, the address a PROXY
 * header names, an error or stderr line quoting its input) is escaped in the text lines, so that it can
 * never end a line or write a forged one; JSON lines carry it as a JSON string.
 */
export function logServerEvents(
  server: TlsechoServer,
  logger: Logger,
  options: { maxConnections: number },
): void {
  // Lines about single connections may wait a moment to be written with others; a busy server would
  // otherwise make a system call for each (see LoggerOptions.coalesceMs).
  const log = logger.batched;
  // These two run for every connection: nothing is built that the logger would throw away (no listener at
  // all under --quiet, which spares the server asking the socket for its protocol and cipher; no JSON
  // fields for plain lines).
  if (log.enabled('info')) {
    server.on('connection', (info) =>
      log.info(
        `[#${info.id}] accepted ${describeAccepted(info)}`,
        log.json ? acceptedFields(info) : undefined,
      ),
    );
  }
  server.on('disconnect', (summary) => {
    const level = closeLevel(summary);
    if (!log.enabled(level)) return;
    log[level](
      `[#${summary.id}] closed ${describeClosed(summary)}`,
      log.json ? closedFields(summary) : undefined,
    );
  });
  server.on('tlsError', (failure) => {
    const peer = peerOf(failure.remoteAddress, failure.remotePort);
    const level = failure.kind === 'reset' ? 'info' : 'warn';
    log[level](`handshake with ${peer} failed: ${escapeControls(failure.reason)}`, {
      event: 'handshake-failed',
      kind: failure.kind,
      remoteAddress: failure.remoteAddress,
      remotePort: failure.remotePort,
      code: failure.code,
    });
  });
  server.on('refused', (refused) => {
    const peer = peerOf(refused.remoteAddress, refused.remotePort);
    log.warn(`refused ${peer}: ${options.maxConnections} connections already open (--max-connections)`, {
      event: 'refused',
      remoteAddress: refused.remoteAddress,
      remotePort: refused.remotePort,
      open: refused.open,
    });
  });
  server.on('proxyError', (failure) => {
    const peer = peerOf(failure.remoteAddress, failure.remotePort);
    log.warn(`refused ${peer}: ${escapeControls(failure.error.message)}`, {
      event: 'proxy-header-refused',
      remoteAddress: failure.remoteAddress,
      remotePort: failure.remotePort,
      code: failure.error.code,
    });
  });
  server.on('healthCheck', (check) =>
    log.debug(`health check from ${peerOf(check.remoteAddress, check.remotePort)}`, {
      event: 'health-check',
      remoteAddress: check.remoteAddress,
      remotePort: check.remotePort,
    }),
  );
  server.on('handlerOutput', ({ id, line }) =>
    // JSON.stringify escapes C0 controls but leaves DEL, C1 controls and the Unicode separators as they are.
    log.info(`[#${id}] handler stderr: ${escapeControls(JSON.stringify(line))}`, {
      event: 'handler-stderr',
      id,
      line,
    }),
  );
  server.on('handlerWarning', ({ id, message }) =>
    log.warn(`[#${id}] ${message}`, { event: 'handler-warning', id }),
  );
  server.on('error', (error) => log.error(`server error: ${error.message}`, { event: 'server-error' }));
  if (log.enabled('verbose')) {
    server.on('message', ({ id, direction, message }) => {
      const verb = direction === 'in' ? 'received' : 'sent';
      log.verbose(`[#${id}] ${verb} ${formatSize(message.length)}: ${previewBytes(message)}`, {
        event: 'message',
        id,
        direction,
        bytes: message.length,
        preview: previewBytes(message),
      });
    });
  }
}

function describeAccepted(info: ConnectionInfo): string {
  const parts =
    info.encrypted !== false
      ? [peerOf(info.remoteAddress, info.remotePort), info.protocol ?? 'unknown TLS', info.cipher]
      : [peerOf(info.remoteAddress, info.remotePort), 'plain TCP'];
  if (info.alpnProtocol) parts.push(`alpn ${escapeControls(info.alpnProtocol)}`);
  if (info.client) {
    const name = info.client.commonName !== undefined ? `CN=${info.client.commonName}` : info.client.subject;
    parts.push(`client ${escapeControls(name)} ${info.client.fingerprint}`);
  }
  return parts.join(' ');
}

function acceptedFields(info: ConnectionInfo): Record<string, unknown> {
  return {
    event: 'accepted',
    id: info.id,
    remoteAddress: info.remoteAddress,
    remotePort: info.remotePort,
    encrypted: info.encrypted,
    protocol: info.protocol,
    cipher: info.cipher,
    alpn: info.alpnProtocol,
    client: info.client,
  };
}

function describeClosed(summary: ConnectionSummary): string {
  const traffic =
    `${summary.framesIn} ${plural(summary.framesIn, 'frame')} in (${formatSize(summary.bytesIn)}), ` +
    `${summary.framesOut} out (${formatSize(summary.bytesOut)})` +
    (summary.framesDropped > 0 ? `, ${summary.framesDropped} dropped` : '');
  return `${peerOf(summary.remoteAddress, summary.remotePort)} after ${formatDuration(summary.durationMs)}: ${reasonText(summary)}; ${traffic}`;
}

/** `client closed`, `handler failed: boom`, `handler exited (exit code 1)`. */
export function reasonText(summary: ConnectionSummary): string {
  let text = REASON_TEXT[summary.reason];
  if (summary.error && summary.reason !== 'handler-exited') {
    text += `: ${escapeControls(errorText(summary))}`;
  }
  const exit = summary.handlerExit;
  if (exit) {
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
    text += summary.reason === 'handler-exited' ? ` (${how})` : `; handler exited (${how})`;
  }
  return text;
}

function closedFields(summary: ConnectionSummary): Record<string, unknown> {
  return {
    event: 'closed',
    id: summary.id,
    remoteAddress: summary.remoteAddress,
    remotePort: summary.remotePort,
    reason: summary.reason,
    error: summary.error ? errorText(summary) : undefined,
    errorCode: (summary.error as { code?: string } | undefined)?.code,
    exitCode: summary.handlerExit?.exitCode,
    signal: summary.handlerExit?.signal ?? undefined,
    durationMs: summary.durationMs,
    framesIn: summary.framesIn,
    framesOut: summary.framesOut,
    framesDropped: summary.framesDropped,
    bytesIn: summary.bytesIn,
    bytesOut: summary.bytesOut,
  };
}

function closeLevel(summary: ConnectionSummary): 'error' | 'warn' | 'info' {
  switch (summary.reason) {
    case 'handler-failed':
      return 'error';
    case 'too-large':
    case 'protocol-error':
    case 'too-slow':
    case 'error':
      return 'warn';
    case 'handler-exited':
      return summary.handlerExit?.exitCode === 0 ? 'info' : 'warn';
    default:
      return 'info';
  }
}

function peerOf(rawAddress: string, port: number): string {
  if (rawAddress === '') return 'unknown peer';
  // A PROXY header may name a UNIX socket path: the balancer's peer chose it.
  const address = escapeControls(rawAddress);
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

// A handler fails with a FrameTooLargeError only when what it produced was too large: an exec child's line
// or frame, whose message would otherwise blame the peer.
function errorText(summary: ConnectionSummary): string {
  const error = summary.error!;
  if (
    summary.reason === 'handler-failed' &&
    error instanceof FrameTooLargeError &&
    error.direction !== 'send'
  ) {
    return error.direction === 'line'
      ? `its output has a line longer than the ${error.maxFrame}-byte maximum (${error.length} bytes without a newline)`
      : `its output declared a ${error.length}-byte frame, above the ${error.maxFrame}-byte maximum`;
  }
  return firstLine(error.message);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
