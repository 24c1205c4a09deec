// Handshake slowloris: hundreds of connections that never finish their handshake must not keep honest
// clients waiting, and each must be closed at --handshake-timeout.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { captureClientHello } from './helpers/client-hello.js';
import { connectTcp, honestExchange, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import {
  isEvent,
  mib,
  openFileLimit,
  startServerProcess,
  type ServerProcess,
} from './helpers/server-process.js';

const SILENT = 500;
const HALF_HELLO = 200;
const HANDSHAKE_TIMEOUT_MS = 3000;
const HONEST_LOOPS = 4;
const HONEST_LIMIT_MS = 2000;

let pki: HostilePki;
let server: ServerProcess;
beforeAll(async () => {
  if (openFileLimit() < SILENT + HALF_HELLO + 200) {
    throw new Error(
      `this case needs ${SILENT + HALF_HELLO + 200} open files; the limit is ${openFileLimit()}`,
    );
  }
  pki = await createPki();
  server = await startServerProcess(pki, ['--handshake-timeout', `${HANDSHAKE_TIMEOUT_MS}ms`]);
});
afterAll(async () => {
  server?.kill();
  await pki?.remove();
});

interface Stalled {
  socket: Socket;
  openedAt: number;
  lifetimeMs?: number;
}

async function openStalled(count: number, firstBytes: Buffer | undefined): Promise<Stalled[]> {
  const stalled: Stalled[] = [];
  // In batches, so the listen backlog never overflows into SYN retries that would blur the timing.
  for (let start = 0; start < count; start += 100) {
    // Each socket's own connect time, not the batch's: on a loaded machine a SYN that found the backlog full
    // is retried a second later, and the batch waits for it while the server's clock for the others runs.
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - start) }, () =>
        connectTcp(server.port).then((socket) => ({ socket, openedAt: performance.now() })),
      ),
    );
    for (const { socket, openedAt } of batch) {
      const entry: Stalled = { socket, openedAt };
      socket.on('error', () => {});
      socket.on('close', () => (entry.lifetimeMs = performance.now() - entry.openedAt));
      if (firstBytes) socket.write(firstBytes);
      stalled.push(entry);
    }
  }
  return stalled;
}

test(
  `${SILENT} silent and ${HALF_HELLO} half-hello connections: honest clients are served throughout, the stalled closed at --handshake-timeout`,
  { timeout: 60_000 },
  async () => {
    const hello = await captureClientHello();
    const before = server.memory();
    const stalled = [
      ...(await openStalled(SILENT, undefined)),
      ...(await openStalled(HALF_HELLO, hello.subarray(0, Math.floor(hello.length / 2)))),
    ];
    const opened = server.memory();
    try {
      const allClosed = () => stalled.every((entry) => entry.lifetimeMs !== undefined);
      const latencies: number[] = [];
      const honestLoop = async () => {
        while (!allClosed()) latencies.push(await honestExchange(server.port, pki, 5000));
      };
      const deadline = setTimeout(() => {
        for (const entry of stalled) entry.socket.destroy();
      }, HANDSHAKE_TIMEOUT_MS + 10_000);
      await Promise.all(Array.from({ length: HONEST_LOOPS }, honestLoop));
      clearTimeout(deadline);

      const lifetimes = stalled.map((entry) => entry.lifetimeMs!).sort((a, b) => a - b);
      const slowest = Math.max(...latencies);
      expect(latencies.length).toBeGreaterThan(HONEST_LOOPS * 5);
      expect(slowest).toBeLessThan(HONEST_LIMIT_MS);
      // Closed by the server at its timeout: not before (it does wait), and not much after.
      expect(lifetimes[0]).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 100);
      expect(lifetimes.at(-1)).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 2000);
      await server.waitForCount(
        isEvent('handshake-failed', { kind: 'handshake-timeout' }),
        SILENT + HALF_HELLO,
        5000,
      );
      expect(server.alive()).toBe(true);
      report('handshake slowloris', {
        stalled: stalled.length,
        honestExchanges: latencies.length,
        honestSlowestMs: ms(slowest),
        honestMedianMs: ms(latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)]!),
        closeMinMs: ms(lifetimes[0]!),
        closeMedianMs: ms(lifetimes[Math.floor(lifetimes.length / 2)]!),
        closeMaxMs: ms(lifetimes.at(-1)!),
        rssBefore: mib(before.rss),
        rssWithStalled: mib(opened.rss),
      });
    } finally {
      for (const entry of stalled) entry.socket.destroy();
    }
  },
);
