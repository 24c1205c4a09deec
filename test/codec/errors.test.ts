import { describe, expect, test } from 'vitest';
import {
  createEncoder,
  encodeFrame,
  encodeFrameToBuffer,
  FrameDecoder,
  LineDecoder,
  parsePacketMode,
  validateMaxFrame,
} from '../../src/codec/index.js';
import { FrameTooLargeError, ProtocolError, TruncatedFrameError, UsageError } from '../../src/errors.js';
import { ExitCode } from '../../src/exit-codes.js';

describe('limits', () => {
  test('rejects a header declaring more than maxFrame before reading the body', () => {
    const decoder = new FrameDecoder(4, 1024);
    const frames: Buffer[] = [];
    const header = Buffer.from([0, 0, 0x04, 0x01]); // 1025
    expect(() => decoder.push(header, (f) => frames.push(f))).toThrow(FrameTooLargeError);
    expect(frames).toEqual([]);
  });

  test('fails after exactly the header bytes of a 4 GiB - 1 lie, holding no body', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(Buffer.from([0xff, 0xff, 0xff]), () => {});
    expect(() => decoder.push(Buffer.from([0xff]), () => {})).toThrow(/4294967295-byte frame/);
    expect(decoder.buffered).toBe(0);
  });

  test('the limit is inclusive, as Erlang packet_size', () => {
    const decoder = new FrameDecoder(4, 5);
    const frames: string[] = [];
    decoder.push(encodeFrameToBuffer(Buffer.from('12345'), 4), (f) => frames.push(f.toString()));
    expect(frames).toEqual(['12345']);
  });

  test('delivers the honest frames that came before a lie, then fails', () => {
    const decoder = new FrameDecoder(2, 10);
    const wire = Buffer.concat([encodeFrameToBuffer(Buffer.from('ok'), 2), Buffer.from([0xff, 0xff, 1, 2])]);
    const frames: string[] = [];
    expect(() => decoder.push(wire, (f) => frames.push(f.toString()))).toThrow(FrameTooLargeError);
    expect(frames).toEqual(['ok']);
  });

  test('stays failed after an error', () => {
    const decoder = new FrameDecoder(1, 3);
    expect(() => decoder.push(Buffer.from([9]), () => {})).toThrow(FrameTooLargeError);
    expect(() => decoder.push(Buffer.from([0]), () => {})).toThrow(FrameTooLargeError);
  });

  test('a frame error carries the protocol exit code and a machine-readable code', () => {
    const error = new FrameTooLargeError(10, 5);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(error.exitCode).toBe(ExitCode.PROTOCOL);
  });

  test('a maximum above what the header can express is a usage error', () => {
    expect(() => new FrameDecoder(1, 256)).toThrow(UsageError);
    expect(() => validateMaxFrame(2, 65_536)).toThrow(/65535-byte limit of a 2-byte header/);
    expect(validateMaxFrame(4, 0xffff_ffff)).toBe(0xffff_ffff);
  });

  test('line mode refuses a line longer than maxFrame even before its newline arrives', () => {
    const decoder = new LineDecoder(4);
    expect(() => decoder.push(Buffer.from('abcde'), () => {})).toThrow(FrameTooLargeError);
  });
});

describe('truncation', () => {
  test('end inside a body says how many bytes are missing', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(Buffer.from([0, 0, 0, 10, 1, 2, 3]), () => {});
    expect(() => decoder.end()).toThrow(new TruncatedFrameError(7, 10));
    expect(() => decoder.end()).not.toThrow(); // already failed; reported once
  });

  test('end inside a header is truncated too', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(Buffer.from([0, 0]), () => {});
    expect(() => decoder.end()).toThrow(/2 of 4 bytes missing/);
  });

  test('end between frames is clean', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(encodeFrameToBuffer(Buffer.from('x'), 4), () => {});
    expect(() => decoder.end()).not.toThrow();
  });
});

describe('encoding refuses instead of truncating', () => {
  test('packet 1 refuses 256 bytes, where gen_tcp would write a wrapped header', () => {
    expect(() => encodeFrame(Buffer.alloc(256), 1)).toThrow(
      /cannot send a 256-byte message: the maximum frame is 255/,
    );
  });

  test('a configured maximum applies to sending too', () => {
    expect(() => createEncoder(4, 3).encode(Buffer.from('four'))).toThrow(FrameTooLargeError);
  });

  test('line mode refuses a payload containing a newline', () => {
    expect(() => createEncoder('line').encode(Buffer.from('a\nb'))).toThrow(/containing a newline/);
  });

  test('the encoder does not copy the payload', () => {
    const payload = Buffer.from('abc');
    const [, body] = encodeFrame(payload, 4);
    expect(body).toBe(payload);
  });
});

describe('packet modes', () => {
  test.each(['1', '2', '4', 'line', 'LINE'])('accepts %s', (mode) => {
    expect(() => parsePacketMode(mode)).not.toThrow();
  });

  test.each(['3', '0', '8', 'raw', ''])('rejects %j, which Erlang would accept and then break on', (mode) => {
    expect(() => parsePacketMode(mode)).toThrow(UsageError);
  });
});
