import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createEncoder } from '../../src/codec/encoder.js';
import type { PacketMode } from '../../src/codec/limits.js';
import { LineDecoder } from '../../src/codec/line.js';
import { LineReframer, type Reframed } from '../../src/codec/line-reframer.js';
import { FrameTooLargeError } from '../../src/errors.js';

// What the per-line path sends: LineDecoder's lines, each encoded on its own; then the error, if any.
function perLine(mode: PacketMode, maxFrame: number, chunks: Buffer[]): { bytes: Buffer; error: boolean } {
  const decoder = new LineDecoder(maxFrame);
  const encoder = createEncoder(mode, maxFrame);
  const out: Buffer[] = [];
  const onFrame = (line: Buffer): void => void out.push(...encoder.encode(line));
  try {
    for (const chunk of chunks) decoder.push(chunk, onFrame);
    decoder.end(onFrame);
  } catch (error) {
    expect(error).toBeInstanceOf(FrameTooLargeError);
    return { bytes: Buffer.concat(out), error: true };
  }
  return { bytes: Buffer.concat(out), error: false };
}

function reframed(
  mode: PacketMode,
  maxFrame: number,
  chunks: Buffer[],
  limit: number,
): { bytes: Buffer; error: boolean; frames: number } {
  const reframer = new LineReframer(mode, maxFrame);
  const out: Buffer[] = [];
  let frames = 0;
  const collect = (result: Reframed): void => {
    const bytes = Buffer.concat(result.pieces);
    expect(bytes.length).toBe(result.bytes);
    frames += result.frames;
    out.push(bytes);
  };
  try {
    for (const chunk of chunks) {
      reframer.push(chunk);
      for (let result = reframer.take(limit); result; result = reframer.take(limit)) collect(result);
    }
    const last = reframer.end();
    if (last) collect(last);
  } catch (error) {
    expect(error).toBeInstanceOf(FrameTooLargeError);
    return { bytes: Buffer.concat(out), error: true, frames };
  }
  return { bytes: Buffer.concat(out), error: false, frames };
}

const text = fc
  .array(fc.oneof(fc.constant(0x0a), fc.constant(0x79), fc.integer({ min: 0, max: 255 })), { maxLength: 400 })
  .map((bytes) => Buffer.from(bytes));

// Cuts `bytes` at the given points: the chunks a pipe might deliver.
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...sorted, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

describe('LineReframer', () => {
  test.each<PacketMode>([1, 2, 4, 'line'])(
    'sends what framing each line on its own sends, however the text is cut (packet %s)',
    (mode) => {
      fc.assert(
        fc.property(
          text,
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 0, max: 60 }),
          (bytes, points, limit, maxFrame) => {
            const chunks = cut(bytes, points);
            const expected = perLine(mode, maxFrame, chunks);
            const actual = reframed(mode, maxFrame, chunks, limit);
            expect(actual.bytes.equals(expected.bytes)).toBe(true);
            expect(actual.error).toBe(expected.error);
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  test('frames a chunk of short lines as one buffer, and stops near the limit', () => {
    const reframer = new LineReframer(4, 1024);
    reframer.push(Buffer.from('y\n'.repeat(10_000)));
    const first = reframer.take(16 * 1024)!;
    expect(first.pieces).toHaveLength(1);
    expect(first.frames).toBe(Math.ceil((16 * 1024) / 5));
    expect(first.pieces[0]!.subarray(0, 10)).toEqual(Buffer.from([0, 0, 0, 1, 0x79, 0, 0, 0, 1, 0x79]));
    expect(reframer.buffered).toBe(20_000 - first.frames * 2);
  });

  test('passes line-mode text through uncopied', () => {
    const chunk = Buffer.from('a\nb\nc');
    const reframer = new LineReframer('line', 1024);
    reframer.push(chunk);
    const result = reframer.take(Infinity)!;
    expect(result.frames).toBe(2);
    expect(result.pieces[0]!.buffer).toBe(chunk.buffer);
    expect(reframer.end()!.pieces).toEqual([Buffer.from('c'), Buffer.from('\n')]);
  });
});
