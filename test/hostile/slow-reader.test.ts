// A client that sends as fast as it can and never reads: backpressure must stop the server from buffering
// replies without bound, and other clients must not notice.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectTls, frame, honestExchange, ms, report, timeToClose } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, mib, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const IDLE_TIMEOUT_MS = 3000;
// Ten times what the kernel's socket buffers on both sides can hold: a server that keeps reading while its
// replies pile up would take all of it.
const ATTEMPT_BYTES = 256 * 1024 * 1024;
const MESSAGE = frame(Buffer.alloc(64 * 1024, 0x71));
// The client is blocked once a drain has not come for this long.
const STALL_MS = 500;

let pki: HostilePki;
beforeAll(async () => {
  pki = await createPki();
  await writeFile(join(pki.dir, 'echo-handler.mjs'), 'export default (message) => message;\n');
});
afterAll(() => pki?.remove());

// Writes until ATTEMPT_BYTES are out or the socket stops draining; returns how much it handed over.
async function sendUntilBlocked(socket: TLSSocket): Promise<{ sent: number; blocked: boolean }> {
  let sent = 0;
  while (sent < ATTEMPT_BYTES) {
    sent += MESSAGE.length;
    if (socket.write(MESSAGE)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        socket.off('drain', onDrain);
        resolve(false);
      }, STALL_MS);
      const onDrain = () => {
        clearTimeout(timer);
        resolve(true);
      };
      socket.once('drain', onDrain);
    });
    if (!drained) return { sent, blocked: true };
  }
  return { sent, blocked: false };
}

describe.each([
  ['echo', () => 'echo'],
  ['a module handler', () => join(pki.dir, 'echo-handler.mjs')],
])('with %s', (name, handler) => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(pki, [
      '--handler',
      handler(),
      '--idle-timeout',
      `${IDLE_TIMEOUT_MS}ms`,
    ]);
  });
  afterAll(() => server?.kill());

  test('the server stops reading from it, stays small, serves others, and closes it when idle', async () => {
    const before = server.memory();
    const greedy = await connectTls(server.port, pki);
    const remotePort = greedy.localPort;
    greedy.on('error', () => {});
    // Never read: pausing leaves every reply in the kernel, whose buffers then fill up.
    greedy.pause();
    const { sent, blocked } = await sendUntilBlocked(greedy);
    const blockedAt = performance.now();
    const during = server.memory();

    const honestMs = await honestExchange(server.port, pki);
    const closeMs = await timeToClose(greedy, blockedAt, IDLE_TIMEOUT_MS + 5000);
    const logged = await server.waitFor(isEvent('closed', { remotePort }), 2000);
    const after = server.memory();

    expect(blocked).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(during.peak - before.rss).toBeLessThan(48 * 1024 * 1024);
    expect(honestMs).toBeLessThan(2000);
    expect(logged.reason).toBe('idle-timeout');
    expect(closeMs).toBeLessThan(IDLE_TIMEOUT_MS + 2000);
    expect(server.alive()).toBe(true);
    report(`fast sender that never reads (${name})`, {
      attemptedBytes: ATTEMPT_BYTES,
      sentBeforeBlocked: sent,
      serverReadBytes: Number(logged.bytesIn),
      rssBefore: mib(before.rss),
      rssPeak: mib(during.peak),
      rssAfterClose: mib(after.rss),
      honestExchangeMs: ms(honestMs),
      closedAfterBlockedMs: ms(closeMs),
    });
  });
});
