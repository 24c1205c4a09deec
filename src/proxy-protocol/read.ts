import { type Socket } from 'node:net';
import { TimeoutError } from '../errors.js';
import {
  ProxyHeaderParser,
  invalidProxyHeader,
  type ProxyEndpoint,
  type ProxyHeader,
  type ProxyHeaderParserOptions,
  type ProxyHeaderResult,
} from './parse.js';
import { formatDuration } from '../units.js';

// The PROXY protocol's receiver on a socket, after HAProxy's specification (section numbers refer to it):
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
// The server's TCP listener in front of the TLS server (src/server/proxy-listener.ts) reads each
// connection's header with it before the handshake; parse.ts turns the bytes into the header.

/** At least 3 s, to cover a TCP retransmit (section 2). */
export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 5_000;

export interface ReadProxyHeaderOptions extends ProxyHeaderParserOptions {
  /** How long the balancer has to send the whole header. Default 5 s. */
  timeoutMs?: number;
}

/**
 * Reads the PROXY header from a raw TCP socket before anything else touches it. On success the socket is
 * paused and any bytes that followed the header are unshifted back into it, so a TLS server given the
 * socket afterwards (`tlsServer.emit('connection', socket)`) sees a clean stream starting at the
 * ClientHello. Rejects with ProtocolError on an invalid or truncated header and TimeoutError when none
 * arrives in time; the caller destroys the socket and logs.
 */
export function readProxyHeader(socket: Socket, options: ReadProxyHeaderOptions = {}): Promise<ProxyHeader> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS;
  const parser = new ProxyHeaderParser(options);
  return new Promise((resolve, reject) => {
    const cleanUp = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (error: Error) => {
      cleanUp();
      socket.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      let result: ProxyHeaderResult | undefined;
      try {
        result = parser.push(chunk);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (!result) return;
      cleanUp();
      // Pause first: with no 'data' listener left, the socket must not drop bytes in flowing mode.
      socket.pause();
      if (result.rest.length > 0) socket.unshift(result.rest);
      resolve(result.header);
    };
    const onEnd = () => {
      fail(
        invalidProxyHeader(
          parser.received === 0
            ? 'connection closed before sending a PROXY protocol header'
            : `connection closed inside the PROXY protocol header, after ${parser.received} bytes`,
          'ERR_PROXY_HEADER_TRUNCATED',
        ),
      );
    };
    const onError = (error: Error) => fail(error);
    const timer = setTimeout(() => {
      fail(
        new TimeoutError(
          parser.received === 0
            ? `no PROXY protocol header within ${formatDuration(timeoutMs)}`
            : `PROXY protocol header incomplete after ${formatDuration(timeoutMs)} (${parser.received} bytes received)`,
        ),
      );
    }, timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}

/**
 * The client's address as the balancer saw it, falling back to the socket's peer when the header carries
 * none (v1 UNKNOWN, v2 LOCAL or UNSPEC), as the spec requires.
 */
export function originalPeer(
  header: ProxyHeader | undefined,
  socket: Pick<Socket, 'remoteAddress' | 'remotePort'>,
): ProxyEndpoint {
  if (header?.source) return header.source;
  return socket.remotePort === undefined
    ? { address: socket.remoteAddress ?? 'unknown' }
    : { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort };
}
