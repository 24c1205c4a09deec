// One TLS handshake on 127.0.0.1 between a node:tls server and client, reporting what each side saw.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { onTestFinished } from 'vitest';

export interface HandshakeOutcome {
  /** The client received the server's greeting: the whole exchange worked. */
  clientOk: boolean;
  clientError?: string;
  /** The server accepted the connection (after verifying the client certificate, when it asks for one). */
  serverAccepted: boolean;
  serverError?: string;
  /** CN of the client certificate, as the server saw it. */
  peerCommonName?: string;
}

const GREETING = 'ok';
// A bound on waiting for a side to settle; a failed handshake settles in milliseconds.
const SETTLE_MS = 5_000;

export async function handshake(
  serverOptions: tls.TlsOptions,
  clientOptions: tls.ConnectionOptions,
): Promise<HandshakeOutcome> {
  const outcome: HandshakeOutcome = { clientOk: false, serverAccepted: false };
  let serverSettled!: () => void;
  const serverDone = new Promise<void>((resolve) => (serverSettled = resolve));
  const server = tls.createServer({ minVersion: 'TLSv1.2', ...serverOptions }, (socket) => {
    outcome.serverAccepted = true;
    const peer = socket.getPeerCertificate();
    if (peer && peer.subject) outcome.peerCommonName = String(peer.subject.CN);
    socket.on('error', () => {});
    socket.end(GREETING);
    serverSettled();
  });
  server.on('tlsClientError', (error) => {
    outcome.serverError = error.message;
    serverSettled();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  const client = tls.connect({ host: '127.0.0.1', port, ...clientOptions });
  onTestFinished(() => void client.destroy());
  let received = '';
  client.setEncoding('utf8');
  client.on('data', (chunk: string) => (received += chunk));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, SETTLE_MS);
    client.on('error', (error) => {
      outcome.clientError = error.message;
      clearTimeout(timer);
      resolve();
    });
    client.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  outcome.clientOk = received === GREETING;
  await Promise.race([serverDone, new Promise((resolve) => setTimeout(resolve, SETTLE_MS).unref())]);
  return outcome;
}
