import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

/** Where a client connects: a host name or IP address, and a port. */
export interface Target {
  host: string;
  port: number;
}

const DEFAULT_HOST = 'localhost';
const DEFAULT_PORT = 7000;

const MAX_PORT = 65_535;
const BRACKETED = /^\[([^\]]+)\](?::(.*))?$/;

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, `HOST` (with `port`, else 7000), a bare IPv6 address, or nothing
 * (`localhost:7000`). A port in the target and a different `port` is a usage error rather than a guess.
 */
export function parseTarget(text: string | undefined, port?: number): Target {
  const given = (text ?? '').trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = BRACKETED.exec(given);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (isIP(host) !== 6) throw new UsageError(`invalid target '${given}': [${host}] is not an IPv6 address`);
  } else if (given.split(':').length > 2) {
    // Two or more colons without brackets can only be an IPv6 address without a port.
    host = given;
    if (isIP(host) !== 6) {
      throw new UsageError(`invalid target '${given}': write an IPv6 address with a port as [ADDRESS]:PORT`);
    }
  } else {
    const colon = given.indexOf(':');
    host = colon === -1 ? given : given.slice(0, colon);
    portText = colon === -1 ? undefined : given.slice(colon + 1);
  }
  if (host === '') host = DEFAULT_HOST;
  // No DNS name or address holds white space; looking one up only ended in "cannot resolve" (exit 4).
  if (/\s/.test(host)) throw new UsageError(`invalid target '${given}': a host name holds no spaces`);
  if (portText !== undefined) {
    const fromTarget = parsePort(portText, given);
    if (port !== undefined && port !== fromTarget) {
      throw new UsageError(`target '${given}' says port ${fromTarget} but --port says ${port}: pass one`);
    }
    return { host, port: fromTarget };
  }
  return { host, port: port === undefined ? DEFAULT_PORT : parsePort(String(port), `--port ${port}`) };
}

function parsePort(text: string, context: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new UsageError(`invalid port '${text}' in '${context}': expected a number from 1 to ${MAX_PORT}`);
  }
  return port;
}

/** `host:port`, with brackets around an IPv6 address, as people type it and as messages show it. */
export function formatTarget(target: Target): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}
