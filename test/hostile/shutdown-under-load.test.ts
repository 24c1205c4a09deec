// SIGTERM while clients are mid-exchange: no reply may be cut in half, the exchanges under way are
// answered, and every connection is gone within --drain-timeout.
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectTls, frame, FrameReader, header, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, startServerProcess, type ServerProcess } from './helpers/server-process.js';

const LOOPING_CLIENTS = 100;
const MID_FRAME_CLIENTS = 10;
const DRAIN_TIMEOUT_MS = 3000;
// Mid-frame clients finish their message this long after the signal: well inside the drain time.
const LATE_HALF_MS = 300;

let pki: HostilePki;
beforeAll(async () => {
  pki = await createPki();
  // Slow enough that, at any moment, most clients have a message inside the handler.
  await writeFile(
    join(pki.dir, 'slow-echo.mjs'),
    'export default async (message) => { await new Promise((resolve) => setTimeout(resolve, 150)); return message; };\n',
  );
});
afterAll(() => pki?.remove());

function payload(client: number, message: number, size: number): Buffer {
  const body = Buffer.alloc(size, (client * 13 + message) & 0xff);
  body.write(`${client}:${message}:`);
  return body;
}

/** A client that sends a message, checks the reply, and sends the next, until the server closes. */
class LoopingClient {
  answered = 0;
  wrong = 0;
  /** Sent, then the server closed without reading it: it had not begun that exchange. */
  unanswered = 0;
  readonly reader: FrameReader;
  readonly done: Promise<void>;

  constructor(
    readonly socket: TLSSocket,
    readonly id: number,
    readonly size: number,
  ) {
    socket.on('error', () => {});
    this.reader = new FrameReader(socket);
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    for (let message = 0; ; message += 1) {
      if (this.reader.ended || this.socket.writableEnded) return;
      this.socket.write(frame(payload(this.id, message, this.size)));
      try {
        await this.reader.until(message + 1, 30_000);
      } catch {
        this.unanswered += 1; // closed by the server between messages, before it read this one
        return;
      }
      if (!this.reader.frames[message]!.equals(payload(this.id, message, this.size))) this.wrong += 1;
      this.answered += 1;
    }
  }
}

function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (condition()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`${what}: not within ${timeoutMs} ms`));
      else setImmediate(check);
    };
    check();
  });
}

describe.each([
  ['echo', 'echo', 256 * 1024],
  ['a slow module handler', 'slow-echo.mjs', 16 * 1024],
])('with %s', (name, handler, size) => {
  let server: ServerProcess;
  beforeAll(async () => {
    const spec = handler === 'echo' ? 'echo' : join(pki.dir, handler);
    server = await startServerProcess(pki, ['--handler', spec, '--drain-timeout', `${DRAIN_TIMEOUT_MS}ms`]);
  });
  afterAll(() => server?.kill());

  test(
    'SIGTERM under load: every reply whole, exchanges under way answered, all closed within --drain-timeout',
    { timeout: 60_000 },
    async () => {
      const looping = await Promise.all(
        Array.from(
          { length: LOOPING_CLIENTS },
          async (_, id) => new LoopingClient(await connectTls(server.port, pki), id, size),
        ),
      );
      const midFrame = await Promise.all(
        Array.from({ length: MID_FRAME_CLIENTS }, () => connectTls(server.port, pki)),
      );
      const stuck = await connectTls(server.port, pki);
      const halfway = Math.floor(size / 2);
      const midPayload = payload(9999, 0, size);
      const midReaders = midFrame.map((socket) => {
        socket.on('error', () => {});
        const reader = new FrameReader(socket);
        socket.write(Buffer.concat([header(size), midPayload.subarray(0, halfway)]));
        return reader;
      });
      const stuckReader = new FrameReader(stuck);
      stuck.on('error', () => {});
      // The stuck client hangs up when the server does, as any client would.
      stuck.on('end', () => stuck.end());
      stuck.write(Buffer.concat([header(size), midPayload.subarray(0, halfway)]));
      await waitUntil(
        () => looping.every((client) => client.answered >= 2),
        30_000,
        'two exchanges per client',
      );

      const signalledAt = performance.now();
      server.child.kill('SIGTERM');
      await server.waitFor(isEvent('shutdown'), 5000);
      // Stopped accepting: a new client is refused at once rather than left to wait.
      const refusal = tcpConnect({ host: '127.0.0.1', port: server.port });
      const [refused] = (await once(refusal, 'error')) as [NodeJS.ErrnoException];
      expect(refused.code).toBe('ECONNREFUSED');

      await new Promise((resolve) => setTimeout(resolve, LATE_HALF_MS));
      for (const socket of midFrame) socket.write(midPayload.subarray(halfway));

      await Promise.all(looping.map((client) => client.done));
      const loopingClosed = await Promise.all(looping.map((client) => client.reader.closed(10_000)));
      const midClosed = await Promise.all(midReaders.map((reader) => reader.closed(10_000)));
      await stuckReader.closed(DRAIN_TIMEOUT_MS + 5000);
      const exit = await server.exited;
      const exitMs = performance.now() - signalledAt;
      const toSignal = (closedAt: number) => closedAt - (performance.timeOrigin + signalledAt);

      // No reply cut in half, none wrong, anywhere.
      for (const reader of [...looping.map((client) => client.reader), ...midReaders, stuckReader]) {
        expect(reader.leftover.length).toBe(0);
      }
      expect(looping.reduce((sum, client) => sum + client.wrong, 0)).toBe(0);
      // The messages half-sent at the signal were finished after it, and answered.
      for (const reader of midReaders)
        expect(reader.frames.map((reply) => reply.equals(midPayload))).toEqual([true]);
      expect(stuckReader.frames).toEqual([]);
      // Every message the server read was answered before it closed.
      const closed = server.events.filter(isEvent('closed'));
      expect(closed).toHaveLength(LOOPING_CLIENTS + MID_FRAME_CLIENTS + 1);
      expect(closed.every((event) => event.framesIn === event.framesOut)).toBe(true);
      expect(closed.every((event) => event.reason === 'shutdown')).toBe(true);
      // The stuck client is closed when the drain time ends, the rest long before; then the process exits 0.
      expect(toSignal(stuckReader.closedAt)).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 50);
      expect(toSignal(stuckReader.closedAt)).toBeLessThan(DRAIN_TIMEOUT_MS + 1000);
      expect(Math.max(...loopingClosed.map(toSignal))).toBeLessThan(DRAIN_TIMEOUT_MS);
      expect(Math.max(...midClosed.map(toSignal))).toBeLessThan(DRAIN_TIMEOUT_MS);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(exitMs).toBeLessThan(DRAIN_TIMEOUT_MS + 2000);
      report(`SIGTERM under load (${name})`, {
        clients: LOOPING_CLIENTS + MID_FRAME_CLIENTS + 1,
        repliesChecked: looping.reduce((sum, client) => sum + client.answered, 0) + MID_FRAME_CLIENTS,
        sentAfterServerStoppedReading: looping.reduce((sum, client) => sum + client.unanswered, 0),
        loopingClosedAfterSignalMs: ms(Math.max(...loopingClosed.map(toSignal))),
        midFrameClosedAfterSignalMs: ms(Math.max(...midClosed.map(toSignal))),
        stuckClosedAfterSignalMs: ms(toSignal(stuckReader.closedAt)),
        exitAfterSignalMs: ms(exitMs),
      });
    },
  );
});
