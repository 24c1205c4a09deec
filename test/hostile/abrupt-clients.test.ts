// Clients that vanish: a process killed with SIGKILL in the middle of a frame, and connections reset in the
// middle of their handshake. The server must clean up after each, count it, and go on.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loopbackAddress, tcpSockets } from '../helpers/proc-net-tcp.js';
import { captureClientHello } from './helpers/client-hello.js';
import { connectTcp, honestExchange, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, mib, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const RESETS = 100;

// A real client in its own process: one exchange, then half a frame, then it waits to be killed. With
// `unread`, it stops reading first, so replies sit unread in its socket and the kernel answers the kill
// with a reset instead of a FIN.
const VICTIM = `
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
const [port, caFile, mode] = process.argv.slice(2);
const frame = (body) => { const h = Buffer.alloc(4); h.writeUInt32BE(body.length); return Buffer.concat([h, body]); };
const socket = connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(caFile), servername: 'localhost' });
socket.once('secureConnect', () => {
  socket.write(frame(Buffer.from('before the kill')));
  socket.once('data', () => {
    if (mode === 'unread') { socket.pause(); socket.write(frame(Buffer.alloc(200000, 1))); }
    const half = Buffer.concat([Buffer.from([0, 0, 3, 232]), Buffer.alloc(500, 0x6b)]);
    socket.write(half, () => console.log(socket.localPort));
  });
});
setInterval(() => {}, 1000);
`;

let pki: HostilePki;
let server: ServerProcess;
beforeAll(async () => {
  pki = await createPki();
  await writeFile(join(pki.dir, 'victim.mjs'), VICTIM);
  server = await startServerProcess(pki, []);
});
afterAll(async () => {
  server?.kill();
  await pki?.remove();
});

async function killMidFrame(mode: 'read' | 'unread') {
  const child = spawn(
    process.execPath,
    [join(pki.dir, 'victim.mjs'), String(server.port), pki.caFile, mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const remotePort = Number(line);
    // The kernel resets only a socket with bytes it has not read: on a loaded machine the echo may not have
    // reached it yet when the victim is ready, and the kill would send a FIN. Wait until it has.
    if (mode === 'unread')
      await until(() => unreadBytes(remotePort) > 0, 'replies waiting unread in the victim');
    const killedAt = performance.now();
    child.kill('SIGKILL');
    const closed = await server.waitFor(isEvent('closed', { remotePort }), 5000);
    return { closed, cleanupMs: performance.now() - killedAt };
  } finally {
    child.kill('SIGKILL');
  }
}

/** Bytes waiting in the receive queue of the 127.0.0.1 TCP socket bound to `port`. */
function unreadBytes(port: number): number {
  const local = loopbackAddress(port);
  return tcpSockets().find((row) => row.local === local)?.receiveQueue ?? 0;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test.each([
  ['with everything read (the kernel sends a FIN)', 'read', 'protocol-error'],
  ['with replies unread (the kernel sends a reset)', 'unread', 'client-closed'],
] as const)('a client killed with SIGKILL mid-frame %s is closed and logged', async (how, mode, reason) => {
  const { closed, cleanupMs } = await killMidFrame(mode);
  expect(closed.reason).toBe(reason);
  expect(closed.framesIn).toBeGreaterThanOrEqual(1);
  expect(cleanupMs).toBeLessThan(2000);
  expect(server.alive()).toBe(true);
  report(`SIGKILL mid-frame ${mode}`, { reason: String(closed.reason), cleanupMs: ms(cleanupMs) });
});

test(`${RESETS} connections reset in the middle of their handshake are logged and forgotten`, async () => {
  const hello = await captureClientHello();
  const before = server.memory();
  const failuresBefore = server.count(isEvent('handshake-failed', { kind: 'reset' }));
  for (let round = 0; round < RESETS; round += 1) {
    const socket = await connectTcp(server.port);
    socket.on('error', () => {});
    socket.write(hello);
    // The server's first flight (ServerHello … Finished) is here: it now waits for ours, which never comes.
    await once(socket, 'data');
    socket.resetAndDestroy();
  }
  await server.waitForCount(isEvent('handshake-failed', { kind: 'reset' }), failuresBefore + RESETS, 5000);
  const after = server.memory();
  const honestMs = await honestExchange(server.port, pki);
  expect(honestMs).toBeLessThan(2000);
  report('reset mid-handshake', { resets: RESETS, rssBefore: mib(before.rss), rssAfter: mib(after.rss) });
});

test('on SIGTERM afterwards the server exits 0 with every connection accounted for', async () => {
  const exit = await server.stop();
  const stopped = server.events.find(isEvent('stopped'))!;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(stopped.open).toBe(0);
  expect(stopped.closed).toBe(stopped.accepted);
  expect(stopped.handshakeFailures).toBeGreaterThanOrEqual(RESETS);
  expect(server.count((event) => event.level === 'error' || event.level === 'raw')).toBe(0);
  report('abrupt clients: final count', {
    accepted: Number(stopped.accepted),
    closed: Number(stopped.closed),
    handshakeFailures: Number(stopped.handshakeFailures),
  });
});
