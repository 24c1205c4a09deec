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
