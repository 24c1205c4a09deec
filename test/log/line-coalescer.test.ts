import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LineCoalescer } from '../../src/log/line-coalescer.js';

// Records each write separately: the point of the coalescer is how many writes the stream sees.
function recordingStream() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { stream, writes };
}

const WINDOW_MS = 40;

describe('LineCoalescer', () => {
  // The window is a timer: fake time moves it exactly, where real sleeps would race a loaded machine.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('the first line after a quiet spell is written at once', () => {
    const { stream, writes } = recordingStream();
    new LineCoalescer(stream, WINDOW_MS).write('one\n');
    expect(writes).toEqual(['one\n']);
  });

  test('lines within the window wait, then go out together in one write, in order', () => {
    const { stream, writes } = recordingStream();
    const lines = new LineCoalescer(stream, WINDOW_MS);
    for (let i = 1; i <= 100; i++) lines.write(`line ${i}\n`);
    expect(writes).toEqual(['line 1\n']);
    vi.advanceTimersByTime(WINDOW_MS - 1);
    expect(writes).toEqual(['line 1\n']);
    vi.advanceTimersByTime(1);
    expect(writes).toHaveLength(2);
    expect(writes.join('')).toBe(Array.from({ length: 100 }, (_, i) => `line ${i + 1}\n`).join(''));
  });

  test('after a window with nothing to write, the next line is written at once again', () => {
    const { stream, writes } = recordingStream();
    const lines = new LineCoalescer(stream, WINDOW_MS);
    lines.write('a\n');
    vi.advanceTimersByTime(WINDOW_MS);
    lines.write('b\n');
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  test('writeNow writes what waits and the new text together, at once', () => {
    const { stream, writes } = recordingStream();
    const lines = new LineCoalescer(stream, WINDOW_MS);
    lines.write('accepted\n');
    lines.write('closed\n');
    lines.writeNow('warning\n');
    expect(writes).toEqual(['accepted\n', 'closed\nwarning\n']);
  });

  test('flush writes what waits; with nothing waiting it writes nothing', () => {
    const { stream, writes } = recordingStream();
    const lines = new LineCoalescer(stream, WINDOW_MS);
    lines.write('a\n');
    lines.flush();
    lines.write('b\n');
    lines.flush();
    lines.flush();
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  test('a burst does not pile up: past 64 KiB waiting, it is written without waiting for the window', () => {
    const { stream, writes } = recordingStream();
    const lines = new LineCoalescer(stream, 60_000);
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 2000; i++) lines.write(line); // 200 KB
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...writes.map((text) => text.length))).toBeLessThanOrEqual(64 * 1024 + line.length);
    lines.flush();
    expect(writes.join('')).toBe(line.repeat(2000));
  });
});
