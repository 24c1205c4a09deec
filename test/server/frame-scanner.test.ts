import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createDecoder } from '../../src/codec/framing.js';
import { FrameBoundaryScanner } from '../../src/server/frame-scanner.js';
import { frame, type Mode } from './helpers/fixture.js';

// Feeds `chunks` to a scanner and returns, per chunk, the bytes it says are complete frames.
function scanAll(mode: Mode, maxFrame: number, chunks: Buffer[]) {
  const scanner = new FrameBoundaryScanner(mode, maxFrame);
  const echoed: Buffer[] = [];
  let frames = 0;
  let held: Buffer[] = [];
  for (const chunk of chunks) {
    const boundary = scanner.scan(chunk);
    frames += scanner.frames;
    if (scanner.frames > 0) {
      echoed.push(...held, chunk.subarray(0, boundary));
      held = [];
    }
    if (scanner.error) break;
    held.push(chunk.subarray(boundary));
  }
  return { scanner, frames, echoed: Buffer.concat(echoed) };
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

const modes: Mode[] = [1, 2, 4, 'line'];

describe('FrameBoundaryScanner', () => {
  test('finds the same frames as the decoder, for every mode and any chunking', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...modes),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.nat({ max: 50 }),
        (mode, payloads, cuts, tail) => {
          const bodies = payloads.map((payload) => {
            const body = Buffer.from(payload);
            // Line frames cannot hold a newline; packet 1 frames cannot exceed 255 bytes.
            const clean =
              mode === 'line' ? Buffer.from(body.map((byte) => (byte === 0x0a ? 0x20 : byte))) : body;
            return mode === 1 ? clean.subarray(0, 255) : clean;
          });
          const complete = Buffer.concat(bodies.map((body) => frame(body, mode)));
          // A partial frame after the complete ones: never echoed.
          const partial =
            mode === 'line'
              ? Buffer.alloc(tail, 0x61)
              : frame(Buffer.alloc(tail + 1, 1), mode).subarray(0, tail);
          const stream = Buffer.concat([complete, partial]);
          const maxFrame = mode === 1 ? 255 : 65_535;
          const { frames, echoed, scanner } = scanAll(mode, maxFrame, split(stream, cuts));
          const decoded: Buffer[] = [];
          createDecoder(mode, maxFrame).push(stream, (frameBody) => decoded.push(frameBody));
          expect(frames).toBe(decoded.length);
          expect(echoed.equals(complete)).toBe(true);
          expect(scanner.error).toBeUndefined();
          expect(scanner.inFrame).toBe(partial.length > 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('refuses a header declaring more than the maximum right after the header, keeping the frames before it', () => {
    const stream = Buffer.concat([frame('ok'), Buffer.from([0, 0, 4, 1]), Buffer.from('xyz')]);
    const { frames, echoed, scanner } = scanAll(4, 1024, [stream]);
    expect(frames).toBe(1);
    expect(echoed.equals(frame('ok'))).toBe(true);
    expect(scanner.error?.message).toBe('peer declared a 1025-byte frame, above the 1024-byte maximum');
  });

  test('refuses a frame above the maximum even when all of it arrives in one chunk', () => {
    const stream = Buffer.concat([frame('ok'), frame('far too long'), frame('never')]);
    const { frames, echoed, scanner } = scanAll(4, 8, [stream]);
    expect(frames).toBe(1);
    expect(echoed.equals(frame('ok'))).toBe(true);
    expect(scanner.error?.message).toBe('peer declared a 12-byte frame, above the 8-byte maximum');
  });

  test('with frames above the maximum, stops where the decoder does, for any chunking', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<1 | 2 | 4>(1, 2, 4),
        fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat({ max: 40 }),
        (mode, sizes, cuts, maxFrame) => {
          const stream = Buffer.concat(sizes.map((size) => frame(Buffer.alloc(size, 7), mode)));
          const { frames, echoed, scanner } = scanAll(mode, maxFrame, split(stream, cuts));
          const accepted = sizes.findIndex((size) => size > maxFrame);
          const expected = accepted === -1 ? sizes : sizes.slice(0, accepted);
          expect(frames).toBe(expected.length);
          expect(echoed.equals(stream.subarray(0, echoed.length))).toBe(true);
          expect(echoed.length).toBe(expected.reduce((sum, size) => sum + mode + size, 0));
          const decoderError = (() => {
            try {
              createDecoder(mode, maxFrame).push(stream, () => {});
              return undefined;
            } catch (error) {
              return (error as Error).message;
            }
          })();
          expect(scanner.error?.message).toBe(decoderError);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('refuses a line longer than the maximum even before its newline arrives', () => {
    const { scanner } = scanAll('line', 10, [
      Buffer.from('short\n'),
      Buffer.alloc(6, 0x61),
      Buffer.alloc(6, 0x61),
    ]);
    expect(scanner.error?.message).toBe(
      'peer sent a line longer than the 10-byte maximum (12 bytes without a newline)',
    );
  });

  test('says how much of a frame is missing when the input ends inside it', () => {
    const scanner = new FrameBoundaryScanner(2, 65_535);
    scanner.scan(Buffer.from([0]));
    expect(scanner.truncation()?.message).toBe('stream ended inside a frame: 1 of 2 bytes missing');
    scanner.scan(Buffer.from([10, 1, 2, 3]));
    expect(scanner.truncation()?.message).toBe('stream ended inside a frame: 7 of 10 bytes missing');
    scanner.scan(Buffer.alloc(7));
    expect(scanner.truncation()).toBeUndefined();
  });

  test('thousands of frames in one chunk are found in one call', () => {
    const stream = Buffer.concat(Array.from({ length: 5000 }, (_, i) => frame(`#${i}`, 2)));
    const scanner = new FrameBoundaryScanner(2, 65_535);
    expect(scanner.scan(stream)).toBe(stream.length);
    expect(scanner.frames).toBe(5000);
  });
});
