// Decoder fuzzing through every packet mode: random streams and mutations of valid streams, fed in random
// chunks to the three readers of frames (the decoder, its stream wrapper, and the server's echo-path
// scanner). Each must agree with a plain reference reading, raise only the typed codec errors, and return.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createDecoder, FrameDecodeStream, type PacketMode } from '../../src/codec/index.js';
import { FrameTooLargeError, TruncatedFrameError } from '../../src/errors.js';
import { FrameBoundaryScanner } from '../../src/server/frame-scanner.js';

type Outcome = 'ok' | 'too-large' | 'truncated';

interface Reading {
  frames: Buffer[];
  outcome: Outcome;
  /** The error message, for packet modes (where it does not depend on the chunking). */
  message?: string;
}

// The reference: the whole stream at once, cut by the rules of Erlang's {packet, N} and {packet, line}
// with our limit: a declared length above maxFrame fails at its header, a line fails once longer than it.
function readReference(mode: PacketMode, maxFrame: number, stream: Buffer): Reading & { wireBytes: number } {
  const frames: Buffer[] = [];
  let offset = 0;
  if (mode === 'line') {
    for (;;) {
      const newline = stream.indexOf(0x0a, offset);
      const length = (newline === -1 ? stream.length : newline) - offset;
      if (length > maxFrame) return { frames, outcome: 'too-large', wireBytes: offset };
      if (newline === -1) {
        const wireBytes = offset;
        if (length > 0) frames.push(stream.subarray(offset));
        return { frames, outcome: 'ok', wireBytes };
      }
      frames.push(stream.subarray(offset, newline));
      offset = newline + 1;
    }
  }
  for (;;) {
    const left = stream.length - offset;
    if (left === 0) return { frames, outcome: 'ok', wireBytes: offset };
    if (left < mode) {
      const message = new TruncatedFrameError(mode - left, mode).message;
      return { frames, outcome: 'truncated', message, wireBytes: offset };
    }
    const declared = stream.readUIntBE(offset, mode);
    if (declared > maxFrame) {
      const message = new FrameTooLargeError(declared, maxFrame, 'received', mode).message;
      return { frames, outcome: 'too-large', message, wireBytes: offset };
    }
    if (left - mode < declared) {
      const message = new TruncatedFrameError(declared - (left - mode), declared).message;
      return { frames, outcome: 'truncated', message, wireBytes: offset };
    }
    frames.push(stream.subarray(offset + mode, offset + mode + declared));
    offset += mode + declared;
  }
}

// Anything but the two codec errors is a bug; so is an error that leaves the decoder usable.
function outcomeOf(error: unknown): { outcome: Outcome; message: string } {
  if (error instanceof FrameTooLargeError) return { outcome: 'too-large', message: error.message };
  if (error instanceof TruncatedFrameError) return { outcome: 'truncated', message: error.message };
  throw new Error(`not a codec error: ${String(error)}`, { cause: error });
}

function readWithDecoder(
  mode: PacketMode,
  maxFrame: number,
  chunks: Buffer[],
): Reading & { errorChunk: number } {
  const decoder = createDecoder(mode, maxFrame);
  const frames: Buffer[] = [];
  const onFrame = (frame: Buffer) => {
    if (frame.length > maxFrame)
      throw new Error(`a ${frame.length}-byte frame passed the ${maxFrame}-byte limit`);
    frames.push(frame);
  };
  for (const [index, chunk] of chunks.entries()) {
    try {
      decoder.push(chunk, onFrame);
    } catch (error) {
      const { outcome, message } = outcomeOf(error);
      // Stays failed: the next push raises the same error and delivers nothing.
      expect(() => decoder.push(Buffer.from([0]), onFrame)).toThrow(error as Error);
      return { frames, outcome, message, errorChunk: index };
    }
  }
  try {
    decoder.end(onFrame);
  } catch (error) {
    return { frames, ...outcomeOf(error), errorChunk: chunks.length };
  }
  return { frames, outcome: 'ok', errorChunk: -1 };
}

async function readWithStream(mode: PacketMode, maxFrame: number, chunks: Buffer[]): Promise<Reading> {
  const frames: Buffer[] = [];
  const collect = async (source: AsyncIterable<Buffer>) => {
    for await (const frame of source) frames.push(frame);
  };
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the decode stream hung')), 2000);
  });
  try {
    await Promise.race([
      pipeline(Readable.from(chunks), new FrameDecodeStream(createDecoder(mode, maxFrame)), collect),
      hang,
    ]);
    return { frames, outcome: 'ok' };
  } catch (error) {
    if ((error as Error).message === 'the decode stream hung') throw error;
    return { frames, ...outcomeOf(error) };
  } finally {
    clearTimeout(timer);
  }
}

// The echo path: bytes it would write back (the complete frames, as received) and when it saw an error.
function readWithScanner(mode: PacketMode, maxFrame: number, chunks: Buffer[]) {
  const scanner = new FrameBoundaryScanner(mode, maxFrame);
  const echoed: Buffer[] = [];
  let held: Buffer[] = [];
  let errorChunk = -1;
  const framesAfterChunk: number[] = [];
  let frames = 0;
  for (const [index, chunk] of chunks.entries()) {
    const boundary = scanner.scan(chunk);
    frames += scanner.frames;
    framesAfterChunk.push(frames);
    if (scanner.frames > 0) {
      echoed.push(...held, chunk.subarray(0, boundary));
      held = [];
    }
    if (scanner.error) {
      errorChunk = index;
      break;
    }
    held.push(chunk.subarray(boundary));
  }
  const truncation = errorChunk === -1 ? scanner.truncation() : undefined;
  return { echoed: Buffer.concat(echoed), errorChunk, truncation, framesAfterChunk, error: scanner.error };
}

async function checkAllReaders(mode: PacketMode, maxFrame: number, chunks: Buffer[]): Promise<void> {
  const stream = Buffer.concat(chunks);
  const reference = readReference(mode, maxFrame, stream);
  const decoded = readWithDecoder(mode, maxFrame, chunks);
  expect(decoded.frames).toEqual(reference.frames);
  expect(decoded.outcome).toBe(reference.outcome);
  if (mode !== 'line') expect(decoded.message).toBe(reference.message);

  const streamed = await readWithStream(mode, maxFrame, chunks);
  expect(streamed.frames).toEqual(reference.frames);
  expect(streamed.outcome).toBe(reference.outcome);

  const scanned = readWithScanner(mode, maxFrame, chunks);
  // The echo path writes back exactly the complete frames' bytes, and fails on the same chunk.
  // A last line without its newline is a frame only at the end of input, which the connection handles.
  const lastLine =
    mode === 'line' && reference.outcome === 'ok' && reference.wireBytes < stream.length ? 1 : 0;
  expect(scanned.framesAfterChunk.at(-1) ?? 0).toBe(reference.frames.length - lastLine);
  expect(scanned.echoed.equals(stream.subarray(0, reference.wireBytes))).toBe(true);
  if (decoded.outcome === 'too-large') {
    expect(scanned.errorChunk).toBe(decoded.errorChunk);
    if (mode !== 'line') expect(scanned.error?.message).toBe(decoded.message);
  } else {
    expect(scanned.error).toBeUndefined();
    expect(scanned.truncation?.message).toBe(decoded.outcome === 'truncated' ? decoded.message : undefined);
  }
}

function encode(mode: PacketMode, payloads: Uint8Array[]): Buffer {
  if (mode === 'line')
    return Buffer.concat(payloads.flatMap((payload) => [Buffer.from(payload), Buffer.from('\n')]));
  return Buffer.concat(
    payloads.flatMap((payload) => {
      const header = Buffer.alloc(mode);
      header.writeUIntBE(payload.length, 0, mode);
      return [header, Buffer.from(payload)];
    }),
  );
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'saturate'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  // 0xff runs turn a header into a lie of the largest size (or a line into one with no end).
  fc.record({ kind: fc.constant('saturate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(stream: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(stream);
  for (const change of mutations) {
    const at = bytes.length === 0 ? 0 : change.at % (bytes.length + 1);
    switch (change.kind) {
      case 'flip':
        if (at < bytes.length) bytes[at]! ^= 1 << change.bit;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.length)]);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + change.length), bytes.subarray(at)]);
        break;
      case 'saturate':
        bytes.fill(0xff, at, Math.min(bytes.length, at + change.length));
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
    }
  }
  return bytes;
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

// Limits at the edges: nothing but empty frames, small, and each mode's largest.
const CASES: Array<[PacketMode, number]> = [
  [1, 0],
  [1, 10],
  [1, 255],
  [2, 0],
  [2, 300],
  [2, 0xffff],
  [4, 0],
  [4, 300],
  [4, 8 * 1024 * 1024],
  [4, 0xffff_ffff],
  ['line', 0],
  ['line', 50],
  ['line', 8 * 1024 * 1024],
];
const RUNS = 300;

describe.each(CASES)('packet %s, maxFrame %i', (mode, maxFrame) => {
  test('random streams in random chunks: the reference frames and only typed errors, from every reader', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (bytes, cuts) => checkAllReaders(mode, maxFrame, split(Buffer.from(bytes), cuts)),
      ),
      { numRuns: RUNS },
    );
  });

  test('mutated valid streams in random chunks: the same', async () => {
    const payloadMax = Math.min(maxFrame, 120);
    const payload =
      mode === 'line'
        ? fc
            .uint8Array({ maxLength: payloadMax })
            .map((bytes) => bytes.map((byte) => (byte === 0x0a ? 0x0b : byte)))
        : fc.uint8Array({ maxLength: payloadMax });
    await fc.assert(
      fc.asyncProperty(
        fc.array(payload, { maxLength: 12 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, mutations, cuts) =>
          checkAllReaders(mode, maxFrame, split(mutate(encode(mode, payloads), mutations), cuts)),
      ),
      { numRuns: RUNS },
    );
  });
});

test.each(['line', 1, 2, 4] as PacketMode[])(
  'packet %s: 2,000 frames with 64 mutations, in 4,000 random chunks, read in bounded time',
  async (mode) => {
    const maxFrame = mode === 1 ? 255 : 4096;
    const random = fc.sample(fc.uint8Array({ maxLength: mode === 1 ? 255 : 2048 }), {
      numRuns: 2000,
      seed: 7,
    });
    const payloads =
      mode === 'line' ? random.map((bytes) => bytes.map((byte) => (byte === 0x0a ? 0 : byte))) : random;
    const valid = encode(mode, payloads);
    const mutations = fc.sample(mutation, { numRuns: 64, seed: 11 });
    const cuts = fc.sample(fc.nat({ max: valid.length }), { numRuns: 4000, seed: 13 });
    const started = performance.now();
    await checkAllReaders(mode, maxFrame, split(mutate(valid, mutations), cuts));
    await checkAllReaders(mode, maxFrame, split(valid, cuts));
    expect(performance.now() - started).toBeLessThan(5000);
  },
);
