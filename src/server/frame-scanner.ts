import { FrameTooLargeError, TruncatedFrameError } from '../errors.js';
import { readHeader } from '../codec/header.js';
import type { PacketMode } from '../codec/limits.js';

const NEWLINE = 0x0a;

/**
 * Finds where complete frames end in a byte stream, without keeping or copying any byte: all the echo fast
 * path needs, since its replies are the received frames themselves. It follows the same rules as
 * FrameDecoder and LineDecoder (the length limit is checked from the header alone, before the body).
 *
 * `scan` returns the offset in the chunk just past the last frame it completed (0 when none did); frames
 * completed before a framing error still count, and the error is left in `error`.
 */
export class FrameBoundaryScanner {
  /** Frames completed by the last `scan`. */
  frames = 0;
  error: FrameTooLargeError | undefined;
  #headerSize: number; // 0 for line mode
  #headerFill = 0; // header bytes seen of the current frame
  #declared = 0;
  #bodyMissing = 0; // body bytes still to come once the header is complete
  #partial = 0; // bytes of the current frame seen so far (for the line-mode limit and `inFrame`)

  constructor(
    mode: PacketMode,
    readonly maxFrame: number,
  ) {
    this.#headerSize = mode === 'line' ? 0 : mode;
  }

  /** True while part of a frame has been seen. */
  get inFrame(): boolean {
    return this.#partial > 0;
  }

  /** At end of input: the error FrameDecoder.end would raise for the bytes left over, if any. */
  truncation(): TruncatedFrameError | undefined {
    if (this.#partial === 0 || this.#headerSize === 0) return undefined;
    return this.#headerFill === this.#headerSize
      ? new TruncatedFrameError(this.#bodyMissing, this.#declared)
      : new TruncatedFrameError(this.#headerSize - this.#headerFill, this.#headerSize);
  }

  scan(chunk: Buffer): number {
    // The common case, kept small enough for V8 to inline into the caller: at a frame boundary, whole
    // frames one after another. Anything else (a split header or body, an error, line mode) takes the
    // general path from where this one stopped.
    const headerSize = this.#headerSize;
    const length = chunk.length;
    let position = 0;
    let frames = 0;
    if (this.#partial === 0 && headerSize !== 0 && this.error === undefined) {
      while (length - position >= headerSize) {
        const declared = readHeader(chunk, position, headerSize);
        const end = position + headerSize + declared;
        if (end > length || declared > this.maxFrame) break; // the general path reports a frame too large
        position = end;
        frames += 1;
      }
      if (position === length) {
        this.frames = frames;
        return length;
      }
    }
    return this.#scanRest(chunk, position, frames);
  }

  #scanRest(chunk: Buffer, start: number, framesBefore: number): number {
    this.frames = framesBefore;
    if (this.error) return 0;
    return this.#headerSize === 0 ? this.#scanLines(chunk) : this.#scanPackets(chunk, start);
  }

  /** From `start`, where the fast path stopped at a frame boundary (or 0 mid-frame). */
  #scanPackets(chunk: Buffer, start: number): number {
    const headerSize = this.#headerSize;
    const length = chunk.length;
    let position = start;
    let boundary = start;
    while (position < length) {
      if (this.#headerFill < headerSize) {
        if (this.#headerFill === 0 && length - position >= headerSize) {
          this.#declared = readHeader(chunk, position, headerSize);
          position += headerSize;
          this.#headerFill = headerSize;
        } else {
          while (this.#headerFill < headerSize && position < length) {
            this.#declared = this.#declared * 256 + chunk[position]!;
            position += 1;
            this.#headerFill += 1;
          }
          if (this.#headerFill < headerSize) {
            this.#partial += length - boundary;
            return boundary;
          }
        }
        if (this.#declared > this.maxFrame) {
          this.error = new FrameTooLargeError(this.#declared, this.maxFrame, 'received', headerSize);
          return boundary;
        }
        this.#bodyMissing = this.#declared;
      }
      const available = length - position;
      if (available < this.#bodyMissing) {
        this.#bodyMissing -= available;
        this.#partial += length - boundary;
        return boundary;
      }
      position += this.#bodyMissing;
      this.#bodyMissing = 0;
      this.#headerFill = 0;
      this.#declared = 0;
      this.#partial = 0;
      this.frames += 1;
      boundary = position;
    }
    return boundary;
  }

  #scanLines(chunk: Buffer): number {
    let position = 0;
    let boundary = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, position);
      if (newline === -1) {
        this.#partial += chunk.length - position;
        if (this.#partial > this.maxFrame) {
          this.error = new FrameTooLargeError(this.#partial, this.maxFrame, 'line');
        }
        return boundary;
      }
      const lineLength = this.#partial + newline - position;
      if (lineLength > this.maxFrame) {
        this.error = new FrameTooLargeError(lineLength, this.maxFrame, 'line');
        return boundary;
      }
      this.#partial = 0;
      this.frames += 1;
      position = newline + 1;
      boundary = position;
    }
  }
}
