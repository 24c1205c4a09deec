import { FrameTooLargeError, ProtocolError } from '../errors.js';
import { defaultMaxFrame, validateMaxFrame, type HeaderSize, type PacketMode } from './limits.js';

const NEWLINE = Buffer.from('\n');

/**
 * The N-byte big-endian length header for a payload of `length` bytes. A payload above `maxFrame` raises
 * FrameTooLargeError: unlike Erlang's `gen_tcp` with `{packet, 1|2}`, which writes a truncated header and
 * corrupts the stream, we refuse before writing anything (as Erlang's `ssl:send` does).
 */
export function frameHeader(
  length: number,
  headerSize: HeaderSize,
  maxFrame = defaultMaxFrame(headerSize),
): Buffer {
  if (length > maxFrame) throw new FrameTooLargeError(length, maxFrame, 'send');
  const header = Buffer.allocUnsafe(headerSize);
  header.writeUIntBE(length, 0, headerSize);
  return header;
}

/**
 * Encodes one payload as `[header, payload]` without copying the payload; write both under `cork()` or
 * with `writev` so they leave in one TLS record.
 */
export function encodeFrame(
  payload: Uint8Array,
  headerSize: HeaderSize,
  maxFrame = defaultMaxFrame(headerSize),
): [Buffer, Buffer] {
  const body = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  return [frameHeader(body.length, headerSize, maxFrame), body];
}

/** Encodes one line-mode frame as `[payload, "\n"]`; a payload holding a newline would become two frames. */
export function encodeLine(payload: Uint8Array, maxFrame = defaultMaxFrame('line')): [Buffer, Buffer] {
  const body = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  if (body.length > maxFrame) throw new FrameTooLargeError(body.length, maxFrame, 'send');
  if (body.includes(0x0a)) {
    throw new ProtocolError('cannot send a message containing a newline in line mode', 'ERR_INVALID_FRAME');
  }
  return [body, NEWLINE];
}

/** A frame encoder bound to one mode and limit: `encode(payload)` returns the buffers to write, in order. */
export interface FrameEncoder {
  readonly mode: PacketMode;
  readonly maxFrame: number;
  encode(payload: Uint8Array): [Buffer, Buffer];
}

export function createEncoder(mode: PacketMode, maxFrame = defaultMaxFrame(mode)): FrameEncoder {
  validateMaxFrame(mode, maxFrame);
  return {
    mode,
    maxFrame,
    encode:
      mode === 'line'
        ? (payload) => encodeLine(payload, maxFrame)
        : (payload) => encodeFrame(payload, mode, maxFrame),
  };
}

/** One contiguous buffer for one frame: convenient for tests and small messages; copies the payload. */
export function encodeFrameToBuffer(
  payload: Uint8Array,
  mode: PacketMode,
  maxFrame = defaultMaxFrame(mode),
): Buffer {
  return Buffer.concat(createEncoder(mode, maxFrame).encode(payload));
}
