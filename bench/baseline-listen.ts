// What both baseline servers (baseline-server.ts, relay-baseline.ts) do around their one job: listen, tell the
// harness their port and pid on stdout as one JSON line, and close everything on SIGTERM or SIGINT.
import type { Server, TLSSocket } from 'node:tls';

/** Listens on `host:port`; `sockets` are the open connections to destroy when stopped. */
export function listenAndAnnounce(server: Server, sockets: Set<TLSSocket>, host: string, port: number): void {
  // Clients that fail their handshake (or leave mid-way) are not the baseline's concern.
  server.on('tlsClientError', () => {});
  server.listen(port, host, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ port: bound, pid: process.pid })}\n`);
  });
  const stop = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
