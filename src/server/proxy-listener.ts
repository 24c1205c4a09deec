import { refuseAsFull } from './admission.js';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { TlsechoError } from '../errors.js';
import type { ProxyEndpoint } from '../proxy-protocol/parse.js';
import { originalPeer, readProxyHeader } from '../proxy-protocol/read.js';

// Behind a load balancer (`--proxy-protocol`), a plain TCP listener takes each connection first, reads its
// PROXY header, and only then hands the socket to the TLS server with `emit('connection')`, which Node's
// tls.Server documents for injecting connections. Bytes that came with the header are unshifted back
// into the socket, so the TLS server sees a stream that starts at the ClientHello.

const kProxiedPeer = Symbol('tlsecho.proxiedPeer');
type ProxiedSocket = Socket & { [kProxiedPeer]?: ProxyEndpoint };

/** A connection refused because its PROXY header was missing, invalid, or too slow. */
export interface ProxyHeaderFailure {
  /** The balancer's end of the TCP connection: without a valid header there is no other. */
  remoteAddress: string;
  remotePort: number;
  error: TlsechoError;
}

/** A balancer's health check: a connection with a LOCAL header that closed without saying anything. */
export interface ProxyHealthCheck {
  remoteAddress: string;
  remotePort: number;
}

interface ProxyListenerHooks {
  /** Every TCP connection, as it is accepted (before its header). */
  accepted?(socket: Socket): void;
  failed(failure: ProxyHeaderFailure): void;
  healthCheck(check: ProxyHealthCheck): void;
  /** Whether to hand the socket on; false once the server stops accepting. */
  accepting(): boolean;
  /** Whether another connection would go past `--max-connections`; such a client is refused at once. */
  full?(): boolean;
  refused?(socket: Socket): void;
}

/**
 * A TCP server that reads a PROXY protocol header (v1 or v2) from each connection within `timeoutMs`,
 * then passes the socket to `tlsServer`. The client the header names is available from the TLS socket
 * with `proxiedPeer`.
 */
export function createProxyListener(
  tlsServer: TlsServer,
  options: { timeoutMs: number },
  hooks: ProxyListenerHooks,
): NetServer {
  return createNetServer({ allowHalfOpen: true, noDelay: true }, (socket: ProxiedSocket) => {
    if (hooks.full?.()) {
      hooks.refused?.(socket);
      refuseAsFull(socket);
      return;
    }
    hooks.accepted?.(socket);
    // Asked now, while the socket knows its peer, for the log line of a failure after it is gone.
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    readProxyHeader(socket, { timeoutMs: options.timeoutMs }).then(
      async (header) => {
        // HAProxy's TCP health check is a LOCAL header and a close: answer it quietly, not as a failed
        // handshake every few seconds.
        if (
          header.command === 'local' &&
          socket.readableLength === 0 &&
          !(await firstBytes(socket, options.timeoutMs))
        ) {
          hooks.healthCheck({ remoteAddress, remotePort });
          socket.destroy();
          return;
        }
        if (!hooks.accepting() || socket.destroyed) {
          socket.destroy();
          return;
        }
        // Set even when the header names no client (LOCAL, UNKNOWN): the address read at accept outlives
        // a socket that closes right after its handshake, as health checks do.
        socket[kProxiedPeer] = originalPeer(header, { remoteAddress, remotePort });
        tlsServer.emit('connection', socket);
      },
      (error: unknown) => {
        socket.destroy();
        // A socket error (a reset while we waited) leaves nothing to report, and neither does a socket the
        // server closed itself on shutdown.
        if (error instanceof TlsechoError && hooks.accepting()) {
          hooks.failed({ remoteAddress, remotePort, error });
        }
      },
    );
  });
}

/**
 * The client a PROXY header named for this TLS connection (the balancer's own address for LOCAL and
 * UNKNOWN headers), or undefined when the connection did not come through a proxy listener.
 */
export function proxiedPeer(socket: TLSSocket | undefined): ProxyEndpoint | undefined {
  // A TLS socket made from an existing socket keeps it as `_parent` (not typed, but stable since Node 0.x).
  const parent = (socket as { _parent?: ProxiedSocket } | undefined)?._parent;
  return parent?.[kProxiedPeer];
}

// Resolves true when data arrives (left unread, for the TLS server) or after `timeoutMs` of silence (the
// TLS server's handshake timeout takes over), false when the peer closes first.
function firstBytes(socket: Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(true), timeoutMs);
    const finish = (value: boolean) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      resolve(value);
    };
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      socket.unshift(chunk);
      finish(true);
    };
    const onEnd = () => finish(false);
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
  });
}
