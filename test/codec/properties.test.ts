import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  createDecoder,
  createEncoder,
  encodeFrameToBuffer,
  FrameDecoder,
  type HeaderSize,
  type PacketMode,
} from '../../src/codec/index.js';
import { ProtocolError } from '../../src/errors.js';

/** Cuts `wire` at the given relative points (each in [0, 1)), giving every chunking from one chunk to many. */
function chunk(wire: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * wire.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    if (point > start) chunks.push(wire.subarray(start, point));
    start = Math.max(start, point);
  }
  chunks.push(wire.subarray(start));
  return chunks;
}

function roundTrip(mode: PacketMode, payloads: Uint8Array[], chunker: (wire: Buffer) => Buffer[]): Buffer[] {
  const encoder = createEncoder(mode);
  const wire = Buffer.concat(payloads.flatMap((p) => encoder.encode(p)));
  const decoder = createDecoder(mode);
  const frames: Buffer[] = [];
  for (const piece of chunker(wire)) decoder.push(piece, (frame) => frames.push(Buffer.from(frame)));
  decoder.end((frame) => frames.push(Buffer.from(frame)));
  return frames;
}

const headerSizes: HeaderSize[] = [1, 2, 4];
const maxFor = (size: HeaderSize) => (size === 1 ? 255 : 2000);

describe('round trip over any chunking', () => {
  test.each(headerSizes)('packet %i: decode(encode(payloads)) gives the payloads back', (size) => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: maxFor(size) }), { maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 40 }),
        (payloads, cuts) => {
          const frames = roundTrip(size, payloads, (wire) => chunk(wire, cuts));
          expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test.each(headerSizes)('packet %i: one-byte chunks and a single chunk agree', (size) => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: Math.min(300, maxFor(size)) }), { maxLength: 10 }),
        (payloads) => {
          const byByte = roundTrip(size, payloads, (wire) => [...wire].map((b) => Buffer.from([b])));
          const whole = roundTrip(size, payloads, (wire) => [wire]);
          expect(byByte).toEqual(whole);
          expect(whole.length).toBe(payloads.length);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('line mode round-trips payloads without newlines', () => {
    const noNewline = fc
      .uint8Array({ maxLength: 200 })
      .map((bytes) => bytes.map((b) => (b === 0x0a ? 0x20 : b)));
    fc.assert(
      fc.property(
        fc.array(noNewline, { maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 40 }),
        (payloads, cuts) => {
          const frames = roundTrip('line', payloads, (wire) => chunk(wire, cuts));
          expect(frames.map((f) => f.toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('hostile input', () => {
  test.each([1, 2, 4, 'line'] as PacketMode[])(
    'random bytes in mode %s raise only typed errors, never hang',
    (mode) => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
          const decoder = createDecoder(mode, mode === 1 ? 255 : 1000);
          try {
            for (const piece of chunks) decoder.push(Buffer.from(piece), () => {});
            decoder.end(() => {});
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        }),
        { numRuns: 500 },
      );
    },
  );

  test('a declared length over the maximum fails after exactly the header bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1001, max: 0xffff_ffff }), (declared) => {
        const decoder = new FrameDecoder(4, 1000);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(declared);
        decoder.push(header.subarray(0, 3), () => {});
        expect(() => decoder.push(header.subarray(3), () => {})).toThrow(ProtocolError);
      }),
    );
  });

  test.each(headerSizes)(
    'packet %i: with any maximum, a single chunk and one-byte chunks give the same frames and the same error',
    (size) => {
      // A whole chunk takes the decoder's fast path; single bytes take the general one.
      const decode = (wire: Buffer, maxFrame: number, pieces: Buffer[]) => {
        const decoder = new FrameDecoder(size, maxFrame);
        const frames: string[] = [];
        try {
          for (const piece of pieces) decoder.push(piece, (frame) => frames.push(frame.toString('hex')));
          return { frames, error: undefined };
        } catch (error) {
          return { frames, error: (error as Error).message };
        }
      };
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: Math.min(300, maxFor(size)) }), { maxLength: 12 }),
          fc.integer({ min: 0, max: 300 }),
          (payloads, maxFrame) => {
            const wire = Buffer.concat(payloads.map((p) => encodeFrameToBuffer(p, size)));
            const whole = decode(wire, Math.min(maxFrame, maxFor(size)), [wire]);
            const bytes = [...wire].map((b) => Buffer.from([b]));
            expect(decode(wire, Math.min(maxFrame, maxFor(size)), bytes)).toEqual(whole);
            const honest = payloads.findIndex((p) => p.length > maxFrame);
            expect(whole.frames).toHaveLength(honest === -1 ? payloads.length : honest);
            expect(whole.error !== undefined).toBe(honest !== -1);
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  test('a frame handler that throws loses nothing: the frames after it come with the next push', () => {
    const decoder = new FrameDecoder(4);
    const wire = Buffer.concat(['a', 'b', 'c'].map((text) => encodeFrameToBuffer(Buffer.from(text), 4)));
    const seen: string[] = [];
    expect(() =>
      decoder.push(wire, (frame) => {
        seen.push(frame.toString());
        if (frame.toString() === 'b') throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(seen).toEqual(['a', 'b']);
    expect(decoder.buffered).toBe(5);
    decoder.push(encodeFrameToBuffer(Buffer.from('d'), 4), (frame) => seen.push(frame.toString()));
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  test.each([1, 2, 4, 'line'] as const)(
    'mode %s: a handler that stops after any frame gets the rest, in order, from resume, and a later bad frame only then',
    (mode) => {
      fc.assert(
        fc.property(
          // Payloads within every limit below, without newlines (line mode).
          fc.array(
            fc.uint8Array({ maxLength: 40 }).map((bytes) => bytes.map((b) => (b === 10 ? 11 : b))),
            {
              maxLength: 30,
            },
          ),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 6 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }),
          (payloads, cuts, stops) => {
            const encoder = createEncoder(mode);
            const honest = Buffer.concat(payloads.flatMap((p) => encoder.encode(p)));
            // A lie after the honest frames: a header over the maximum, or a line longer than it.
            const lie = mode === 'line' ? Buffer.alloc(300, 0x61) : Buffer.alloc(mode, 0xff);
            const decoder = createDecoder(mode, mode === 1 ? 254 : 250);
            const frames: Buffer[] = [];
            let calls = 0;
            // Stops whenever the script says, and checks that nothing comes before resume.
            let stopped = false;
            const onFrame = (frame: Buffer) => {
              expect(stopped).toBe(false);
              frames.push(Buffer.from(frame));
              const stop = stops[calls++ % stops.length]!;
              stopped = stop;
              return !stop;
            };
            let error: unknown;
            const drive = (step: () => void) => {
              try {
                step();
              } catch (caught) {
                error = caught;
              }
            };
            for (const piece of chunk(Buffer.concat([honest, lie]), cuts)) {
              if (error) break;
              drive(() => decoder.push(piece, onFrame));
              while (stopped && !error) {
                stopped = false;
                drive(() => decoder.resume(onFrame));
              }
            }
            expect(frames.map((f) => f.toString('hex'))).toEqual(
              payloads.map((p) => Buffer.from(p).toString('hex')),
            );
            expect(error).toBeInstanceOf(ProtocolError);
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  test('a frame of exactly the maximum decodes', () => {
    const payload = Buffer.alloc(1000, 0xab);
    const frames: Buffer[] = [];
    new FrameDecoder(4, 1000).push(encodeFrameToBuffer(payload, 4), (f) => frames.push(f));
    expect(frames[0]!.equals(payload)).toBe(true);
  });
});
