import { describe, expect, test } from 'vitest';
import { encodeFrameToBuffer, FrameDecoder, LineDecoder } from '../../src/codec/index.js';

const hex = (buffer: Buffer) => buffer.toString('hex').replace(/(..)(?!$)/g, '$1 ');

function decodeAll(
  decoder: { push(chunk: Buffer, onFrame: (f: Buffer) => void): void },
  chunks: Buffer[],
): string[] {
  const frames: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (frame) => frames.push(frame.toString('latin1')));
  return frames;
}

describe('wire format', () => {
  test.each([
    [4, 'hello', '00 00 00 05 68 65 6c 6c 6f'],
    [2, 'hello', '00 05 68 65 6c 6c 6f'],
    [1, 'hello', '05 68 65 6c 6c 6f'],
    [4, '', '00 00 00 00'],
    [1, '', '00'],
  ] as const)('packet %i encodes %j as %s', (size, text, expected) => {
    expect(hex(encodeFrameToBuffer(Buffer.from(text), size))).toBe(expected);
  });

  test('line mode appends a newline', () => {
    expect(hex(encodeFrameToBuffer(Buffer.from('hi'), 'line'))).toBe('68 69 0a');
  });

  test('a 300-byte payload is 0x012c in a 2-byte header', () => {
    expect(encodeFrameToBuffer(Buffer.alloc(300), 2).subarray(0, 2)).toEqual(Buffer.from([0x01, 0x2c]));
  });

  test('decodes the known vector back', () => {
    const frames = decodeAll(new FrameDecoder(4), [Buffer.from('0000000568656c6c6f', 'hex')]);
    expect(frames).toEqual(['hello']);
  });

  test('the boundary payloads 255 and 65535 fit packet 1 and 2', () => {
    expect(encodeFrameToBuffer(Buffer.alloc(255, 1), 1)[0]).toBe(0xff);
    expect(encodeFrameToBuffer(Buffer.alloc(65_535, 1), 2).readUInt16BE(0)).toBe(0xffff);
  });
});

describe('decoding', () => {
  test('delivers zero-length frames', () => {
    expect(decodeAll(new FrameDecoder(2), [Buffer.from('0000000000', 'hex')])).toEqual(['', '']);
  });

  test('decodes thousands of frames arriving in one chunk, in order', () => {
    const count = 5000;
    const wire = Buffer.concat(
      Array.from({ length: count }, (_, i) => encodeFrameToBuffer(Buffer.from(`m${i}`), 4)),
    );
    const frames = decodeAll(new FrameDecoder(4), [wire]);
    expect(frames).toHaveLength(count);
    expect(frames[0]).toBe('m0');
    expect(frames[count - 1]).toBe(`m${count - 1}`);
  });

  test('returns a view, not a copy, when a payload arrived whole', () => {
    const wire = encodeFrameToBuffer(Buffer.from('payload'), 4);
    let frame: Buffer | undefined;
    new FrameDecoder(4).push(wire, (f) => (frame = f));
    expect(frame!.buffer).toBe(wire.buffer);
  });

  test('reassembles a header and a body split over one-byte chunks', () => {
    const wire = encodeFrameToBuffer(Buffer.from('split me'), 4);
    const chunks = [...wire].map((byte) => Buffer.from([byte]));
    expect(decodeAll(new FrameDecoder(4), chunks)).toEqual(['split me']);
  });

  test('keeps the chunk list bounded when a peer trickles one byte at a time', () => {
    const payload = Buffer.alloc(200_000, 7);
    const decoder = new FrameDecoder(4);
    const frames: Buffer[] = [];
    decoder.push(encodeFrameToBuffer(payload, 4).subarray(0, 4), (f) => frames.push(f));
    for (let i = 0; i < payload.length; i++) decoder.push(payload.subarray(i, i + 1), (f) => frames.push(f));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(payload)).toBe(true);
  });

  test('line mode splits on newlines and keeps other bytes exactly', () => {
    const frames = decodeAll(new LineDecoder(), [Buffer.from('a\r\n\0b\n\nc')]);
    expect(frames).toEqual(['a\r', '\0b', '']);
  });

  test('line mode delivers a last line without its newline at end of input', () => {
    const decoder = new LineDecoder();
    const frames: string[] = [];
    decoder.push(Buffer.from('one\ntwo'), (f) => frames.push(f.toString()));
    decoder.end((f) => frames.push(f.toString()));
    expect(frames).toEqual(['one', 'two']);
  });
});
