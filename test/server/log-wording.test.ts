// What the server's log says when a frame is too large or a handler returns something it cannot send: the
// line must name what actually happened, and who did it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { LineDecoder } from '../../src/codec/line.js';
import { logServerEvents } from '../../src/server/server-log.js';
import type { TlsechoServer } from '../../src/server/server.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { connectClient, frame, ReplyReader, startServer } from './helpers/fixture.js';

function closedLines(server: TlsechoServer): string[] {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  logServerEvents(server, createLogger(stream, { level: 'info' }), { maxConnections: 10 });
  return lines;
}

describe('oversized frames', () => {
  test('in line mode the peer sent a line too long: nothing was declared', async () => {
    const { server, port, nextClose } = await startServer({ packet: 'line', maxFrame: 10 });
    const lines = closedLines(server);
    const socket = await connectClient(port);
    const closed = nextClose();
    socket.write('short\n' + 'a'.repeat(30));
    await closed;
    expect(lines.find((line) => line.includes('closed'))).toMatch(
      /frame too large: peer sent a line longer than the 10-byte maximum \(\d+ bytes without a newline\);/,
    );
  });

  test('the line decoder says the same of a line with no newline in time', () => {
    const decoder = new LineDecoder(4);
    expect(() => decoder.push(Buffer.from('abcde'), () => {})).toThrow(
      'peer sent a line longer than the 4-byte maximum (5 bytes without a newline)',
    );
  });

  test('a line too long from an exec child is the handler’s output, not the peer’s', async () => {
    const { server, port, nextClose } = await startServer({
      handler: "exec:head -c 3000 /dev/zero | tr '\\0' x; echo",
      maxFrame: 1024,
    });
    const lines = closedLines(server);
    await connectClient(port);
    const summary = await nextClose();
    expect(summary.reason).toBe('handler-failed');
    const closed = lines.find((line) => line.includes('closed'));
    expect(closed).toMatch(
      /handler failed: its output has a line longer than the 1024-byte maximum \(\d+ bytes without a newline\);/,
    );
    expect(closed).not.toContain('peer');
  });
});

describe('a module handler returning what cannot be sent', () => {
  test.each([
    ['42', 'a number (42)'],
    ['({ text: "hi" })', 'an object'],
    ['Promise.resolve(true)', 'a boolean (true)'],
    ['["ok", 7]', 'an array whose item 1 is a number (7)'],
  ])('returning %s is logged as what a handler may return', async (value, described) => {
    const dir = await makeTempDir();
    await writeFile(join(dir, 'bad.mjs'), `export default () => ${value};\n`);
    const { server, port, nextClose } = await startServer({ handler: './bad.mjs', cwd: dir });
    const lines = closedLines(server);
    const reader = new ReplyReader(await connectClient(port));
    const closed = nextClose();
    reader.socket.write(frame('hello'));
    await reader.end();
    expect((await closed).reason).toBe('handler-failed');
    const text = `./bad.mjs returned ${described}; a handler may return a string, a Buffer or Uint8Array, an array of those, or nothing (undefined or null)`;
    expect(lines.find((line) => line.includes('closed'))).toContain(`handler failed: ${text};`);
  });
});
