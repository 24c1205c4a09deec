import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { createEncoder } from '../codec/encoder.js';
import { INTRINSIC_MAX_FRAME, type PacketMode } from '../codec/limits.js';
import { whenDrained } from '../when-drained.js';

/**
 * How received frames are printed:
 * - `text`: the payload's bytes as they are, then `\n` (binary payloads come out unchanged; use `json` or
 *   `hex` to tell frames apart when they may hold newlines);
 * - `hex`, `base64`: one encoded line per frame;
 * - `json`: one object per line, `{"length":N,"text":"…"}` when the payload is valid UTF-8, otherwise
 *   `{"length":N,"base64":"…"}`;
 * - `raw`: frames in the connection's `--packet` format, so another tlsecho (`--raw-in`) can read them.
 */
export type OutputMode = 'text' | 'hex' | 'base64' | 'json' | 'raw';

export const OUTPUT_MODES: readonly OutputMode[] = ['text', 'hex', 'base64', 'json', 'raw'];

/** A received frame as `--output json` and `send --json` show it. */
export type FrameJson = { length: number; text: string } | { length: number; base64: string };

const NEWLINE = Buffer.from('\n');

export function frameToJson(frame: Buffer): FrameJson {
  return isUtf8(frame)
    ? { length: frame.length, text: frame.toString('utf8') }
    : { length: frame.length, base64: frame.toString('base64') };
}

/** Turns one frame into the bytes to print for `mode`. */
export type FrameFormatter = (frame: Buffer) => Buffer;

export function createFrameFormatter(mode: OutputMode, packet: PacketMode): FrameFormatter {
  switch (mode) {
    case 'text':
      return (frame) => Buffer.concat([frame, NEWLINE], frame.length + 1);
    case 'hex':
      return (frame) => Buffer.from(`${frame.toString('hex')}\n`);
    case 'base64':
      return (frame) => Buffer.from(`${frame.toString('base64')}\n`);
    case 'json':
      return (frame) => Buffer.from(`${JSON.stringify(frameToJson(frame))}\n`);
    case 'raw': {
      // Received frames already fit the mode, so only the header's own limit applies here.
      const encoder = createEncoder(
        packet,
        packet === 'line' ? INTRINSIC_MAX_FRAME[4] : INTRINSIC_MAX_FRAME[packet],
      );
      return (frame) => Buffer.concat(encoder.encode(frame));
    }
  }
}

/**
 * Prints frames on a stream in one format. `write` returns the stream's backpressure signal; `drained`
 * waits for room, so a slow reader of our stdout slows the socket down instead of filling memory.
 */
export class FrameWriter {
  readonly #format: FrameFormatter;

  constructor(
    readonly stream: Writable,
    mode: OutputMode,
    packet: PacketMode,
    /** Replaces the mode's formatter, e.g. to show Erlang terms (`--format etf`). */
    format: FrameFormatter = createFrameFormatter(mode, packet),
  ) {
    this.#format = format;
  }

  write(frame: Buffer): boolean {
    return this.stream.write(this.#format(frame));
  }

  drained(): Promise<void> {
    return whenDrained(this.stream);
  }

  async print(frame: Buffer): Promise<void> {
    if (!this.write(frame)) await this.drained();
  }
}
