import { once } from 'node:events';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';

// A deliberately plain framing implementation, independent of src/codec, so that the client's codec is
// checked against someone else's reading of {packet, N}: concatenate everything, then cut.

export type TestPacket = 1 | 2 | 4 | 'line';

/** `payload` framed as `{packet, N}` (or followed by a newline). */
export function frame(packet: TestPacket, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (packet === 'line') return Buffer.concat([body, Buffer.from([0x0a])]);
  const header = Buffer.alloc(packet);
  let length = body.length;
  for (let i = packet - 1; i >= 0; i--) {
    header[i] = length % 256;
    length = Math.floor(length / 256);
  }
  return Buffer.concat([header, body]);
}

/** Cuts complete frames off the front of `buffer`; returns them and what is left. */
export function unframe(packet: TestPacket, buffer: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  for (;;) {
    if (packet === 'line') {
      const end = buffer.indexOf(0x0a, offset);
      if (end === -1) break;
      frames.push(buffer.subarray(offset, end));
      offset = end + 1;
      continue;
    }
    if (buffer.length - offset < packet) break;
    let length = 0;
    for (let i = 0; i < packet; i++) length = length * 256 + buffer[offset + i]!;
    if (buffer.length - offset - packet < length) break;
    frames.push(buffer.subarray(offset + packet, offset + packet + length));
    offset += packet + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** One accepted connection, as a test sees it. */
export interface TestPeer {
  socket: TLSSocket;
  /** Every frame received so far (copies). */
  received: Buffer[];
  /** Sends one framed reply. */
  reply(payload: Buffer | string): void;
}

export interface TestServerOptions {
  cert: string;
  key: string;
  packet?: TestPacket;
  /** Require a client certificate issued by this CA. */
  clientCa?: string;
  /** Called for each frame; the default echoes it back. */
  onFrame?: (payload: Buffer, peer: TestPeer) => void;
  /** Called once per connection after the handshake, before any frame. */
  onConnection?: (peer: TestPeer) => void;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface TestServer {
  port: number;
  peers: TestPeer[];
  /** Resolves with the next accepted connection (or the latest, if one is waiting). */
  nextPeer(): Promise<TestPeer>;
  close(): Promise<void>;
}

/** A minimal framed TLS echo server on 127.0.0.1 (or `host`) and a free port; closed when the test ends. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const packet = options.packet ?? 4;
  const peers: TestPeer[] = [];
  const waiting: Array<(peer: TestPeer) => void> = [];
  let handedOut = 0;
  const server = createTlsServer(
    {
      cert: options.cert,
      key: options.key,
      ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (socket) => {
      const peer: TestPeer = {
        socket,
        received: [],
        reply: (payload) => socket.write(frame(packet, payload)),
      };
      peers.push(peer);
      const waiter = waiting.shift();
      if (waiter) {
        handedOut += 1;
        waiter(peer);
      }
      socket.on('error', () => {});
      options.onConnection?.(peer);
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        const { frames, rest } = unframe(packet, Buffer.concat([buffered, chunk]));
        buffered = Buffer.from(rest);
        for (const payload of frames) {
          const copy = Buffer.from(payload);
          peer.received.push(copy);
          if (options.onFrame) options.onFrame(copy, peer);
          else peer.reply(copy);
        }
      });
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const closeServer = async () => {
    for (const peer of peers) peer.socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(closeServer);
  return {
    port: (server.address() as AddressInfo).port,
    peers,
    nextPeer: () =>
      handedOut < peers.length
        ? Promise.resolve(peers[handedOut++]!)
        : new Promise((resolve) => waiting.push(resolve)),
    close: closeServer,
  };
}

/** A TCP server that accepts and then says nothing: a TLS handshake with it never completes. */
export async function startSilentTcpServer(): Promise<{ port: number }> {
  const sockets: Socket[] = [];
  const server: TcpServer = createTcpServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port };
}

/** A port on 127.0.0.1 where nothing listens: bound, read, then released. */
export async function unusedPort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
