import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';
import type { InteropPki } from './pki.js';

/** A socket, what arrived on it, and when (if ever) the far end closed it. */
export interface WatchedSocket<S extends Socket> {
  socket: S;
  openedAt: number;
  /** Everything received so far. */
  bytes(): Buffer;
  /** Resolves once `length` bytes in total have arrived. */
  until(length: number, timeoutMs?: number): Promise<Buffer>;
  /** Resolves with the milliseconds from opening until the socket closed; rejects after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<number>;
  /** True while neither side has ended or closed the connection. */
  readonly open: boolean;
}

function watch<S extends Socket>(socket: S): WatchedSocket<S> {
  const openedAt = Date.now();
  let ended = false;
  let closedAt: number | undefined;
  socket.on('error', () => {}); // a reset is one way of being closed; `closed` reports it
  socket.on('end', () => (ended = true));
  const closing = new Promise<number>((resolve) =>
    socket.once('close', () => {
      closedAt = Date.now();
      resolve(closedAt - openedAt);
    }),
  );
  const chunks: Buffer[] = [];
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const wake of waiters) wake();
  });
  const bytes = () => Buffer.concat(chunks);
  onTestFinished(() => {
    socket.destroy();
  });
  return {
    socket,
    openedAt,
    bytes,
    until: (length, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (bytes().length < length) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(bytes());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`got ${bytes().length} of ${length} bytes within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    closed: (timeoutMs = 10_000) =>
      Promise.race([
        closing,
        new Promise<number>((_, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`the connection was still open after ${timeoutMs} ms`)),
            timeoutMs,
          );
          void closing.then(() => clearTimeout(timer));
        }),
      ]),
    get open() {
      return !ended && closedAt === undefined && !socket.destroyed;
    },
  };
}

/** A plain TCP connection that never says anything (no TLS ClientHello). */
export async function silentTcp(port: number): Promise<WatchedSocket<Socket>> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return watch(socket);
}

/** A verified TLS connection (the interop CA, SNI localhost) on which the test writes raw bytes. */
export async function rawTls(pki: InteropPki, port: number): Promise<WatchedSocket<TLSSocket>> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: readFileSync(pki.caFile, 'utf8'),
  });
  await once(socket, 'secureConnect');
  if (!socket.authorized) throw new Error(`server not verified: ${String(socket.authorizationError)}`);
  return watch(socket);
}
