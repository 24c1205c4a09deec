import type { TLSSocket } from 'node:tls';
import { expect, test } from 'vitest';
import { EchoPath } from '../../src/server/echo-path.js';
import { countBytesCopied } from '../helpers/copy-counter.js';

// A socket that takes every write at once and keeps what was written.
function recordingSocket(): { socket: TLSSocket; written: Buffer[] } {
  const written: Buffer[] = [];
  const socket = {
    write: (chunk: Buffer) => written.push(chunk) > 0,
    cork: () => {},
    uncork: () => {},
  };
  return { socket: socket as unknown as TLSSocket, written };
}

test('a 1 MiB frame trickled one byte per read is echoed whole, copying its bytes only a few times', () => {
  const size = 1024 * 1024;
  const frame = Buffer.alloc(4 + size);
  frame.writeUInt32BE(size, 0);
  for (let i = 4; i < frame.length; i++) frame[i] = i & 0xff;
  const { socket, written } = recordingSocket();
  const counters = { framesIn: 0, framesOut: 0, bytesOut: 0 };
  const echo = new EchoPath(socket, counters, 4, 16 * 1024 * 1024);

  // Merging the held pieces over and over copied the growing newest one once per byte: about 550 GB here.
  let full = 0;
  const copied = countBytesCopied(4 * frame.length, () => {
    for (let i = 0; i < frame.length; i++) full += echo.receive(frame.subarray(i, i + 1));
  });

  expect(full).toBe(0); // the socket never said its queue was full
  expect(copied).toBeLessThanOrEqual(4 * frame.length);
  expect(counters).toEqual({ framesIn: 1, framesOut: 1, bytesOut: frame.length });
  expect(Buffer.concat(written).equals(frame)).toBe(true);
  expect(echo.inFrame).toBe(false);
});
