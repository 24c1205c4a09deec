import fc from 'fast-check';
import { expect, test } from 'vitest';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { LineDecoder } from '../../src/codec/line.js';
import { PayloadFactory } from '../../src/bench/payload.js';

function decodeAll(bytes: Buffer, decoder: FrameDecoder | LineDecoder): Buffer[] {
  const frames: Buffer[] = [];
  decoder.push(bytes, (frame) => frames.push(Buffer.from(frame)));
  return frames;
}

test('frames carry their sequence number in hex, so every message of a connection differs', () => {
  const payloads = new PayloadFactory(16, 4);
  const frames = decodeAll(payloads.frames(0x2a, 3), new FrameDecoder(4));
  expect(frames.map((f) => f.toString('latin1'))).toEqual([
    '00000000002amnop',
    '00000000002bmnop',
    '00000000002cmnop',
  ]);
});

test('a reply matches only the message with its sequence number, byte for byte', () => {
  const payloads = new PayloadFactory(64, 2);
  const [reply] = decodeAll(payloads.frames(7, 1), new FrameDecoder(2));
  expect(payloads.matches(reply!, 7)).toBe(true);
  expect(payloads.matches(reply!, 8)).toBe(false);
  const corrupt = Buffer.from(reply!);
  corrupt[40] = corrupt[40]! ^ 1;
  expect(payloads.matches(corrupt, 7)).toBe(false);
  expect(payloads.matches(reply!.subarray(0, 63), 7)).toBe(false);
  expect(payloads.sequenceOf(reply!)).toBe(7);
  expect(payloads.sequenceOf(corrupt)).toBe(7);
});

test('line-mode payloads hold no newline, and short payloads keep the low digits', () => {
  const payloads = new PayloadFactory(3, 'line');
  const bytes = payloads.frames(0x10a0a, 1);
  expect(bytes.toString('latin1')).toBe('a0a\n');
  const [line] = decodeAll(bytes, new LineDecoder(1024));
  expect(payloads.matches(line!, 0x10a0a)).toBe(true);
  expect(payloads.sequenceOf(line!)).toBe(-1); // too short to name the whole number
});

test('zero-length messages are valid frames that match', () => {
  const payloads = new PayloadFactory(0, 1);
  const bytes = payloads.frames(0, 2);
  expect(bytes).toEqual(Buffer.from([0, 0]));
  expect(payloads.matches(Buffer.alloc(0), 1)).toBe(true);
});

// How the load generator checks a reply stream: piece by piece, wherever the reads happened to cut it.
test.each([4, 2, 1, 'line'] as const)(
  'the bytes of a frame match piece by piece at any cut, and a changed byte fails its piece (packet %s)',
  (mode) => {
    const size = mode === 1 ? 200 : 1000;
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 40 }),
        fc.uniqueArray(fc.integer({ min: 1, max: size }), { maxLength: 6 }),
        fc.option(fc.nat({ max: size }), { nil: undefined }),
        (sequence, cuts, corruptAt) => {
          const payloads = new PayloadFactory(size, mode);
          const frame = payloads.frames(sequence, 1);
          const received = Buffer.from(frame);
          if (corruptAt !== undefined) received[corruptAt] = received[corruptAt]! ^ 0x20;
          const bounds = [0, ...cuts.sort((a, b) => a - b), frame.length];
          const results = bounds.slice(1).map((end, i) => {
            const start = bounds[i]!;
            // Each piece at an odd place in a larger read, as a reused read buffer would hold it.
            const read = Buffer.concat([Buffer.from('xyz'), received.subarray(start, end), Buffer.from('!')]);
            return payloads.matchesFrameBytes(read, 3, 3 + end - start, sequence, start);
          });
          const failing = bounds
            .slice(1)
            .flatMap((end, i) =>
              corruptAt !== undefined && corruptAt >= bounds[i]! && corruptAt < end ? [i] : [],
            );
          expect(results.flatMap((ok, i) => (ok ? [] : [i]))).toEqual(failing);
        },
      ),
    );
  },
);

test('a frame checked piece by piece is the one of its sequence number, not its neighbour', () => {
  const payloads = new PayloadFactory(64, 4);
  const frame = payloads.frames(0x41, 1);
  expect(payloads.matchesFrameBytes(frame, 0, 10, 0x41, 0)).toBe(true);
  expect(payloads.matchesFrameBytes(frame, 10, frame.length, 0x41, 10)).toBe(true);
  // The sequence digits span bytes 4 to 16: the second piece alone carries the difference.
  expect(payloads.matchesFrameBytes(frame, 0, 10, 0x42, 0)).toBe(true);
  expect(payloads.matchesFrameBytes(frame, 10, frame.length, 0x42, 10)).toBe(false);
});
