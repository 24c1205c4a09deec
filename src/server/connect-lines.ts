import { useColor, type Io } from '../io.js';
import { createLogger, type LogFields, type Logger } from '../log/logger.js';
import { formatAddress } from './server.js';

// The lines a person needs to connect to a server: its address, and for an ephemeral certificate the
// fingerprint to pin and the command that does it. `serve` and the `--workers` primary print them alike.

/**
 * The logger for the lines needed to connect: `log` when it prints info lines, else one that does.
 * --quiet silences the chatter, not these: with port 0 or an ephemeral certificate there is no other way
 * to learn the port or the fingerprint to pin.
 */
export function connectLinesLogger(
  log: Logger,
  io: Io,
  options: { json: boolean; color: boolean; logBase?: LogFields },
): Logger {
  if (log.enabled('info')) return log;
  return createLogger(io.stderr, {
    json: options.json,
    level: 'info',
    color: useColor(io, { json: options.json, color: options.color }),
    base: options.logBase,
  });
}

/**
 * Says that the server made its own certificate, with its fingerprint, and the exact `tlsecho connect`
 * command that pins it. `workers`: the certificate is the one every worker of a `--workers` server uses.
 */
export function announceEphemeralCertificate(
  log: Logger,
  fingerprint: string,
  address: { address: string; port: number },
  options: { workers?: boolean } = {},
): void {
  const command = `tlsecho connect --pin ${fingerprint} ${formatAddress(connectHost(address.address), address.port)}`;
  const uses = options.workers
    ? 'every worker uses one ephemeral self-signed certificate'
    : 'using an ephemeral self-signed one';
  log.info(
    `no certificate given and none in certs/: ${uses} for localhost, 127.0.0.1 and ::1 (${fingerprint})`,
    { event: 'certificate', ephemeral: true, fingerprint },
  );
  log.info(`verify it with: ${command}`, { event: 'connect-command', fingerprint, command });
}

// A wildcard address is not something to connect to; the loopback of the same family is.
function connectHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}
