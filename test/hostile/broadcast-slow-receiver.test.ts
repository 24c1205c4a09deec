// `serve --handler broadcast` with one client that never reads beside two honest ones: the honest ones get
// every message on time, the server's memory stays flat, and the one that never reads is disconnected (or,
// with --broadcast-drop, loses messages, counted in its summary line).
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectTls, FrameReader, frame, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';
import { isEvent, mib, startServerProcess } from './helpers/server-process.js';

// Far more than the kernel buffers of the silent client's connection can hold (a few MiB on loopback).
const MESSAGES = 4500;
const PAYLOAD = Buffer.alloc(16 * 1024, 0x62);
// Messages go out in rounds of this many; the honest clients must have each round within ROUND_DEADLINE_MS.
const ROUND = 50;
const ROUND_DEADLINE_MS = 3000;

let pki: HostilePki;
beforeAll(async () => {
  pki = await createPki();
});
afterAll(() => pki?.remove());

describe.each([
  ['disconnect', [] as string[]],
  ['--broadcast-drop', ['--broadcast-drop']],
])('broadcast with a client that never reads (%s)', (name, flags) => {
  test('the honest clients get every message on time and the server stays small', async () => {
    const server = await startServerProcess(pki, ['--handler', 'broadcast', ...flags]);
    try {
      const [sender, honest, silent] = await Promise.all([0, 1, 2].map(() => connectTls(server.port, pki)));
      const sockets = [sender, honest, silent] as TLSSocket[];
      await server.waitForCount(isEvent('accepted'), 3);
      silent!.pause();
      silent!.on('error', () => {});
      const silentPort = silent!.localPort;
      const readers = [new FrameReader(sender!), new FrameReader(honest!)];
      const before = server.memory();
      let slowestRoundMs = 0;
      let middle = before;
      for (let start = 0; start < MESSAGES; start += ROUND) {
        const began = performance.now();
        const batch = [];
        for (let i = start; i < start + ROUND; i++)
          batch.push(frame(Buffer.concat([Buffer.from(`${i}:`), PAYLOAD])));
        // The sender is also the second honest client: a message from the honest one comes back to it.
        sender!.write(Buffer.concat(batch));
        honest!.write(frame(`round ${start}`));
        await readers[1]!.until(start + ROUND, ROUND_DEADLINE_MS);
        await readers[0]!.until(start / ROUND + 1, ROUND_DEADLINE_MS);
        slowestRoundMs = Math.max(slowestRoundMs, performance.now() - began);
        if (start + ROUND === MESSAGES / 2) middle = server.memory();
      }
      const during = server.memory();
      const received = readers[1]!.frames;
      expect(received.length).toBe(MESSAGES);
      received.forEach((message, index) =>
        expect(message.toString('latin1', 0, 8).startsWith(`${index}:`)).toBe(true),
      );
      expect(readers[0]!.frames.map(String)).toEqual(
        Array.from({ length: MESSAGES / ROUND }, (_, round) => `round ${round * ROUND}`),
      );

      let closedLine;
      if (flags.length === 0) {
        closedLine = await server.waitFor(isEvent('closed', { remotePort: silentPort }), 5000);
        expect(closedLine.reason).toBe('too-slow');
        expect(closedLine.msg).toMatch(
          /too slow: not reading the messages broadcast to it \(more than 64 KiB/,
        );
      } else {
        silent!.destroy();
        closedLine = await server.waitFor(isEvent('closed', { remotePort: silentPort }), 5000);
        expect(closedLine.reason).toBe('client-closed');
        expect(Number(closedLine.framesDropped)).toBeGreaterThan(0);
        expect(Number(closedLine.framesOut) + Number(closedLine.framesDropped)).toBe(
          MESSAGES + MESSAGES / ROUND,
        );
        expect(closedLine.msg).toMatch(/, \d+ dropped$/);
      }
      // 72 MiB went to each receiver; what the server holds must not grow with it: the second half of the
      // messages adds next to nothing to the peak the first half reached (warm-up: TLS buffers, the heap).
      expect(during.peak - before.rss).toBeLessThan(48 * 1024 * 1024);
      expect(during.peak - middle.peak).toBeLessThan(8 * 1024 * 1024);
      report(`broadcast, a client that never reads (${name})`, {
        messages: MESSAGES,
        payloadBytes: PAYLOAD.length,
        rssBefore: mib(before.rss),
        rssPeakHalfway: mib(middle.peak),
        rssPeak: mib(during.peak),
        rssAfter: mib(during.rss),
        slowestRoundMs: ms(slowestRoundMs),
        silentFramesOut: Number(closedLine.framesOut),
        silentFramesDropped: Number(closedLine.framesDropped ?? 0),
      });
      for (const socket of sockets) socket.destroy();
    } finally {
      server.kill();
    }
  });
});
