// 2,000 clients connected at once, all exchanging messages: none may lose, corrupt or reorder a reply.
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectTls, frame, FrameReader, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import {
  isEvent,
  mib,
  openFileLimit,
  startServerProcess,
  type ServerProcess,
} from './helpers/server-process.js';

const CONNECTIONS = 2000;
const MESSAGES_PER_CONNECTION = 10;
// Handshakes in flight at once while connecting: the listen backlog (511) must not overflow into SYN retries.
const CONNECT_CONCURRENCY = 100;

let pki: HostilePki;
let server: ServerProcess;
beforeAll(async () => {
  // Each connection is a socket here and one in the server; Node raises its soft limit to the hard one.
  if (openFileLimit() < CONNECTIONS + 500) {
    throw new Error(
      `the flood needs ${CONNECTIONS + 500} open files; the limit is ${openFileLimit()} (ulimit -n)`,
    );
  }
  pki = await createPki();
  server = await startServerProcess(pki, ['--max-connections', String(CONNECTIONS + 100)]);
});
afterAll(async () => {
  server?.kill();
  await pki?.remove();
});

// Deterministic payloads that say whose they are: a reply delivered to the wrong client, out of order or
// with one byte changed cannot pass for the right one.
function payload(connection: number, message: number): Buffer {
  const size = [1, 17, 200, 1500, 4096, 9000, 70, 16_384, 3, 600][message % 10]!;
  const body = Buffer.alloc(size);
  const label = Buffer.from(`${connection}:${message}:`);
  label.copy(body, 0, 0, Math.min(label.length, size));
  for (let i = label.length; i < size; i += 1) body[i] = (connection * 31 + message * 7 + i) & 0xff;
  return body;
}

async function openAll(): Promise<TLSSocket[]> {
  const sockets: TLSSocket[] = new Array(CONNECTIONS);
  let next = 0;
  const worker = async () => {
    while (next < CONNECTIONS) {
      const index = next++;
      sockets[index] = await connectTls(server.port, pki, { timeout: 15_000 });
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  return sockets;
}

test(
  `${CONNECTIONS} concurrent connections: every reply arrives whole, to its own client, in order`,
  { timeout: 90_000 },
  async () => {
    const idle = server.memory();
    const connectStarted = performance.now();
    const sockets = await openAll();
    const connectMs = performance.now() - connectStarted;
    try {
      await server.waitForCount(isEvent('accepted'), CONNECTIONS, 10_000);
      const held = server.memory();
      expect(sockets.every((socket) => !socket.closed)).toBe(true);

      const exchangeStarted = performance.now();
      const readers = sockets.map((socket) => new FrameReader(socket));
      sockets.forEach((socket, connection) => {
        const wire = Buffer.concat(
          Array.from({ length: MESSAGES_PER_CONNECTION }, (_, message) =>
            frame(payload(connection, message)),
          ),
        );
        // Split where the connection number says, so frames straddle writes (and TLS records) differently.
        const cut = 1 + ((connection * 7919) % (wire.length - 1));
        socket.write(wire.subarray(0, cut));
        socket.write(wire.subarray(cut));
      });
      const received = await Promise.all(
        readers.map((reader) => reader.until(MESSAGES_PER_CONNECTION, 60_000)),
      );
      const exchangeMs = performance.now() - exchangeStarted;
      const loaded = server.memory();

      let wrong = 0;
      received.forEach((replies, connection) => {
        replies.forEach((reply, message) => {
          if (!reply.equals(payload(connection, message))) wrong += 1;
        });
      });
      expect(wrong).toBe(0);
      expect(received.every((replies) => replies.length === MESSAGES_PER_CONNECTION)).toBe(true);
      expect(readers.every((reader) => reader.leftover.length === 0)).toBe(true);

      for (const socket of sockets) socket.end();
      await server.waitForCount(isEvent('closed'), CONNECTIONS, 20_000);
      const closed = server.events.filter(isEvent('closed'));
      expect(closed.filter((event) => event.reason === 'client-closed')).toHaveLength(CONNECTIONS);
      expect(closed.every((event) => event.framesIn === MESSAGES_PER_CONNECTION)).toBe(true);
      expect(server.count(isEvent('refused'))).toBe(0);
      expect(server.alive()).toBe(true);
      report('flood', {
        connectionsHeld: CONNECTIONS,
        repliesChecked: CONNECTIONS * MESSAGES_PER_CONNECTION,
        lostOrWrong: wrong,
        connectMs: ms(connectMs),
        exchangeMs: ms(exchangeMs),
        rssIdle: mib(idle.rss),
        rssAllConnected: mib(held.rss),
        rssAfterExchange: mib(loaded.rss),
        rssPeak: mib(loaded.peak),
      });
    } finally {
      for (const socket of sockets) socket?.destroy();
    }
  },
);
