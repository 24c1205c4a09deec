// Lies about frame length and frames that never finish, against `tlsecho serve` in its own process: the
// echo fast path and the decoder path of a module handler, which read frames differently.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  connectTls,
  frame,
  FrameReader,
  header,
  honestExchange,
  ms,
  report,
  timeToClose,
} from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, mib, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const MAX_FRAME = 1024 * 1024;
const IDLE_TIMEOUT_MS = 1500;
const LIE_BODY = Buffer.alloc(64 * 1024, 0x61);
// "At once": the close follows the header by a round trip, not by a timeout. Generous for a busy CI box.
const AT_ONCE_MS = 1000;

let pki: HostilePki;
beforeAll(async () => {
  pki = await createPki();
  await writeFile(join(pki.dir, 'echo-handler.mjs'), 'export default (message) => message;\n');
});
afterAll(() => pki?.remove());

describe.each([
  ['echo', () => 'echo'],
  ['a module handler', () => join(pki.dir, 'echo-handler.mjs')],
])('with %s', (name, handler) => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(pki, [
      '--handler',
      handler(),
      '--max-frame',
      String(MAX_FRAME),
      '--idle-timeout',
      `${IDLE_TIMEOUT_MS}ms`,
    ]);
  });
  afterAll(() => server?.kill());

  test.each([
    ['4 GiB - 1', 0xffff_ffff],
    ['--max-frame + 1', MAX_FRAME + 1],
  ])(
    'a header declaring %s is refused at once with a protocol error, after the honest frame before it',
    async (lie, declared) => {
      const before = server.memory();
      const socket = await connectTls(server.port, pki);
      const reader = new FrameReader(socket);
      const remotePort = socket.localPort;
      const sentAt = performance.now();
      socket.write(Buffer.concat([frame('honest'), header(declared), LIE_BODY]));
      const closeMs = await timeToClose(socket, sentAt, 5000);
      const logged = await server.waitFor(isEvent('closed', { remotePort }), 2000);
      const after = server.memory();

      expect(reader.frames.map(String)).toEqual(['honest']);
      expect(reader.leftover.length).toBe(0);
      expect(closeMs).toBeLessThan(AT_ONCE_MS);
      expect(logged.reason).toBe('too-large');
      expect(logged.level).toBe('warn');
      expect(logged.msg).toContain(
        `frame too large: peer declared a ${declared}-byte frame, above the ${MAX_FRAME}-byte maximum`,
      );
      // The declared size never reaches memory: at most noise, far below even the smaller lie.
      expect(after.rss - before.rss).toBeLessThan(16 * 1024 * 1024);
      expect(server.alive()).toBe(true);
      report(`lie ${lie} (${name})`, {
        declared,
        closeMs: ms(closeMs),
        rssBefore: mib(before.rss),
        rssAfter: mib(after.rss),
      });
    },
  );

  test('a frame of exactly --max-frame is still echoed whole', async () => {
    const socket = await connectTls(server.port, pki);
    const reader = new FrameReader(socket);
    const payload = Buffer.alloc(MAX_FRAME, 0x5a);
    socket.write(frame(payload));
    const [reply] = await reader.until(1, 10_000);
    socket.destroy();
    expect(reply!.equals(payload)).toBe(true);
  });

  test('a header declaring 1 MiB, then a byte every 200 ms, is closed at the idle timeout', async () => {
    const socket = await connectTls(server.port, pki);
    const reader = new FrameReader(socket);
    const sentAt = performance.now();
    socket.write(header(MAX_FRAME));
    const trickle = setInterval(() => {
      if (!socket.destroyed && !socket.writableEnded) socket.write(Buffer.from([0x62]));
    }, 200);
    let closeMs: number;
    try {
      // Meanwhile an honest client on the same server is answered as usual.
      const honestMs = await honestExchange(server.port, pki);
      expect(honestMs).toBeLessThan(2000);
      closeMs = await timeToClose(socket, sentAt, IDLE_TIMEOUT_MS + 5000);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    const logged = await server.waitFor(
      (event) => event.event === 'closed' && event.reason === 'idle-timeout' && Number(event.bytesIn) > 4,
      2000,
    );
    expect(reader.frames).toEqual([]);
    expect(closeMs).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
    // The sweep looks every quarter of the idle timeout: up to that much late, plus scheduling.
    expect(closeMs).toBeLessThan(IDLE_TIMEOUT_MS * 1.25 + 750);
    expect(logged.msg).toContain('idle timeout');
    report(`frame slowloris (${name})`, {
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      closeMs: ms(closeMs),
      trickledBytes: Number(logged.bytesIn) - 4,
    });
  });
});

describe('line mode', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(pki, ['--packet', 'line', '--max-frame', '1KiB']);
  });
  afterAll(() => server?.kill());

  test('a line longer than --max-frame is refused as soon as it is too long, before its newline', async () => {
    const socket = await connectTls(server.port, pki);
    const remotePort = socket.localPort;
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const sentAt = performance.now();
    socket.write(`honest\n${'y'.repeat(1025)}`);
    const closeMs = await timeToClose(socket, sentAt, 5000);
    const logged = await server.waitFor(isEvent('closed', { remotePort }), 2000);
    expect(received).toBe('honest\n');
    expect(logged.reason).toBe('too-large');
    expect(closeMs).toBeLessThan(AT_ONCE_MS);
    expect(logged.msg).toContain('a line longer than the 1024-byte maximum');
  });
});

describe.each([
  ['echo', () => 'echo'],
  ['a module handler', () => join(pki.dir, 'echo-handler.mjs')],
])('with --max-frame 4 GiB - 1 and %s', (name, handler) => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(pki, [
      '--handler',
      handler(),
      '--max-frame',
      String(0xffff_ffff),
      '--idle-timeout',
      `${IDLE_TIMEOUT_MS}ms`,
    ]);
  });
  afterAll(() => server?.kill());

  test('a frame declared at 4 GiB - 1 costs the bytes that arrived, not the declared size', async () => {
    const arrived = 8 * 1024 * 1024;
    const before = server.memory();
    const socket = await connectTls(server.port, pki);
    const remotePort = socket.localPort;
    socket.write(header(0xffff_ffff));
    const piece = Buffer.alloc(64 * 1024, 0x63);
    for (let sent = 0; sent < arrived; sent += piece.length) {
      if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    // All of it has reached the server once the idle timeout closes the connection (nothing was answered).
    await timeToClose(socket, performance.now(), IDLE_TIMEOUT_MS + 5000);
    const logged = await server.waitFor(isEvent('closed', { remotePort }), 2000);
    const after = server.memory();
    expect(logged.reason).toBe('idle-timeout');
    expect(logged.bytesIn).toBe(4 + arrived);
    expect(after.peak - before.rss).toBeLessThan(arrived * 4);
    report(`declared 4 GiB - 1 within --max-frame (${name})`, {
      arrivedBytes: arrived,
      rssBefore: mib(before.rss),
      rssPeakAfter: mib(after.peak),
    });
  });
});
