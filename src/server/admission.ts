import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

// A fatal TLS alert record sent before the handshake: content type 21 (alert), record version 3.3, length 2,
// level 2 (fatal), description 80, internal_error: "an internal error unrelated to the peer or the
// correctness of the protocol ... makes it impossible to continue" (RFC 8446 section 6.2), the nearest TLS
// has to "busy". Node's own `maxConnections` closes such a socket without a word, which a client can only
// report as a connection closed during the handshake; with the alert it knows the server refused it.
export const SERVER_FULL_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]);

// A refused client that keeps its end open is closed after this long.
const REFUSED_LINGER_MS = 1000;

/** Answers a client over `--max-connections` with the alert, then closes. */
export function refuseAsFull(socket: Socket): void {
  // Whatever the client sends (its ClientHello) is read and dropped, so its close is seen.
  socket.resume();
  socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(SERVER_FULL_ALERT);
}

export interface AdmissionHooks {
  /** Whether another connection would go past the limit. */
  full(): boolean;
  refused(socket: Socket): void;
}

/**
 * The TCP listener in front of the TLS server: it counts against `--max-connections` itself and hands every
 * admitted socket to `tlsServer` (`emit('connection')`, the way Node documents for injecting connections), so
 * that a refused client gets the alert above instead of a silent close.
 */
export function createAdmissionListener(tlsServer: TlsServer, hooks: AdmissionHooks): NetServer {
  return createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (hooks.full()) {
      hooks.refused(socket);
      refuseAsFull(socket);
      return;
    }
    tlsServer.emit('connection', socket);
  });
}
