import type { Readable } from 'node:stream';
import { createDecoder } from '../codec/framing.js';
import type { PacketMode } from '../codec/limits.js';
import { FrameTooLargeError, ProtocolError, TruncatedFrameError } from '../errors.js';

/**
 * How input bytes become messages:
 * - `lines`: one message per `\n`-terminated line, without the `\n`. Every other byte is kept as it is, so a
 *   CRLF file sends a trailing `\r`, an empty line sends an empty frame, and a last line without `\n` is sent.
 * - `null`: the same with NUL as the separator (pairs with `find -print0` and `xargs -0`).
 * - `whole`: all of the input as one message (an empty input sends one empty frame).
 * - `raw`: the input already holds frames in the connection's `--packet` format; each is sent as it is.
 */
export type InputMode = 'lines' | 'null' | 'whole' | 'raw';

export interface InputOptions {
  mode: InputMode;
  /** The connection's framing: `raw` input is decoded with it. */
  packet: PacketMode;
  /** Largest message that can be sent; a longer one stops the input with a ProtocolError. */
  maxFrame: number;
  /** Names the input in errors: `stdin` or a file name. */
  label: string;
  /**
   * Lines and NUL-separated input: called with the error for a message over `maxFrame`, which is then
   * skipped (its bytes are discarded as they arrive) and reading goes on. Without it, such a message ends
   * the input with the error.
   */
  onOversized?: (error: ProtocolError) => void;
}

const NEWLINE = 0x0a;
const NUL = 0x00;

/**
 * Reads messages from a byte stream, one chunk at a time: a consumer that awaits between messages holds
 * back the reading, so input of any size streams through in bounded memory.
 */
export function readMessages(stream: Readable, options: InputOptions): AsyncGenerator<Buffer> {
  switch (options.mode) {
    case 'lines':
      return splitMessages(stream, NEWLINE, options);
    case 'null':
      return splitMessages(stream, NUL, options);
    case 'whole':
      return wholeMessage(stream, options);
    case 'raw':
      return decodeFrames(stream, options);
  }
}

async function* splitMessages(
  stream: Readable,
  separator: number,
  options: InputOptions,
): AsyncGenerator<Buffer> {
  // The part of a message that arrived before its separator: usually empty, since most fit in one chunk.
  let pending: Buffer[] = [];
  let pendingLength = 0;
  // Inside a message already refused as too long (onOversized): its bytes are dropped up to the separator.
  let skipping = false;
  let index = 0;
  const refuse = (messageIndex: number) => {
    const error = oversizedError(messageIndex, options);
    if (!options.onOversized) throw error;
    options.onOversized(error);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(separator); end !== -1; end = chunk.indexOf(separator, start)) {
      const tail = chunk.subarray(start, end);
      start = end + 1;
      index += 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      const length = pendingLength + tail.length;
      const message =
        length > options.maxFrame || pendingLength === 0 ? tail : Buffer.concat([...pending, tail], length);
      pending = [];
      pendingLength = 0;
      if (length > options.maxFrame) {
        refuse(index);
        continue;
      }
      yield message;
    }
    if (start < chunk.length && !skipping) {
      const rest = chunk.subarray(start);
      pending.push(rest);
      pendingLength += rest.length;
      // Refuse as soon as the message is too long, without reading the rest of it.
      if (pendingLength > options.maxFrame) {
        refuse(index + 1);
        pending = [];
        pendingLength = 0;
        skipping = true;
      }
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending, pendingLength);
}

async function* wholeMessage(stream: Readable, options: InputOptions): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length > options.maxFrame) throw oversizedError(1, options);
  }
  yield Buffer.concat(chunks, length);
}

async function* decodeFrames(stream: Readable, options: InputOptions): AsyncGenerator<Buffer> {
  const decoder = createDecoder(options.packet, options.maxFrame);
  const frames: Buffer[] = [];
  const collect = (frame: Buffer) => frames.push(frame);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Frames decoded before a framing error are still sent, as the decoder delivers them first.
      let failure: unknown;
      try {
        decoder.push(chunk, collect);
      } catch (error) {
        failure = error;
      }
      yield* frames.splice(0);
      if (failure !== undefined) throw failure;
    }
    decoder.end(collect);
    yield* frames.splice(0);
  } catch (error) {
    throw describeInputError(error, options);
  }
}

// The decoder's messages speak of a peer; here the bytes come from our own input.
function describeInputError(error: unknown, options: InputOptions): unknown {
  const label = options.label;
  if (error instanceof FrameTooLargeError) {
    return new ProtocolError(
      `${label} holds a ${error.length}-byte frame, above the maximum of ${error.maxFrame} bytes`,
      error.code,
      { hint: 'raise --max-frame, or check that --packet matches the input', cause: error },
    );
  }
  if (error instanceof TruncatedFrameError) {
    return new ProtocolError(
      `${label} ended inside a frame: ${error.missing} of ${error.expected} bytes missing`,
      error.code,
      {
        hint: `is it ${describePacket(options.packet)} framed? (--raw-in reads frames in the --packet format)`,
        cause: error,
      },
    );
  }
  return error;
}

function oversizedError(index: number, options: InputOptions): ProtocolError {
  const what = options.mode === 'whole' ? options.label : `message ${index} of ${options.label}`;
  return new ProtocolError(
    `${what} is larger than the maximum frame of ${options.maxFrame} bytes`,
    'ERR_FRAME_TOO_LARGE',
    { hint: 'raise --max-frame (or use --packet 4 for messages over 64 KiB)' },
  );
}

function describePacket(packet: PacketMode): string {
  return packet === 'line' ? '{packet, line}' : `{packet, ${packet}}`;
}
