import { FrameTooLargeError, type TlsechoError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { validateMaxFrame, type PacketMode } from './limits.js';

const NEWLINE = 0x0a;
const NEWLINE_BUFFER = Buffer.from('\n');
// Lines shorter than this are copied byte by byte: a native copy costs more per call than it saves.
const SHORT_LINE = 32;

/** Frames ready to be written, in order. */
export interface Reframed {
  pieces: Buffer[];
  /** How many frames the pieces hold. */
  frames: number;
  /** Their size, headers included. */
  bytes: number;
}

/**
 * Turns newline-delimited text into frames of another framing, in bulk: the complete lines of a chunk become
 * one buffer of header, line, header, line… (for line mode, the chunk's own bytes, uncopied), with no object
 * per line. For a process printing many short lines (`yes`), where an object per line cost more than
 * encrypting the replies. Lines are cut as LineDecoder cuts them: at `\n`, which is not part of the line, and
 * a line longer than `maxFrame` is an error, raised after the lines before it were returned.
 * Push-driven; owns no I/O.
 */
export class LineReframer {
  readonly mode: PacketMode;
  readonly maxFrame: number;
  readonly #headerSize: number; // 0 for line mode, where a newline follows each line instead
  // Chunks not yet framed, oldest first; the first from #offset.
  #chunks: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  // The start of a line whose newline has not arrived yet (taken out of #chunks).
  #partial = new ChunkQueue();
  // Where the newlines of the current run are, reused from run to run.
  readonly #ends: number[] = [];
  #failed: TlsechoError | undefined;

  constructor(mode: PacketMode, maxFrame: number) {
    this.mode = mode;
    this.maxFrame = validateMaxFrame(mode, maxFrame);
    this.#headerSize = mode === 'line' ? 0 : mode;
  }

  /** Bytes received and not yet framed. */
  get buffered(): number {
    return this.#buffered + this.#partial.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Frames the complete lines received so far, stopping once about `limit` bytes of frames are ready (at
   * least one line when one is complete); the rest waits for the next call. Undefined when no line is
   * complete. Throws FrameTooLargeError for a line longer than maxFrame, once the lines before it are taken.
   */
  take(limit: number): Reframed | undefined {
    if (this.#failed) throw this.#failed;
    const pieces: Buffer[] = [];
    let frames = 0;
    let bytes = 0;
    const overhead = this.#headerSize === 0 ? 1 : this.#headerSize;
    while (bytes < limit && this.#chunks.length > 0 && this.#failed === undefined) {
      const chunk = this.#chunks[0]!;
      const start = this.#offset;
      if (this.#partial.length > 0) {
        // A line that straddles chunks: one copy of it, framed on its own.
        const newline = chunk.indexOf(NEWLINE, start);
        const end = newline === -1 ? chunk.length : newline;
        if (this.#partial.length + end - start > this.maxFrame) {
          this.#fail(this.#partial.length + end - start);
          break;
        }
        this.#partial.push(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
        this.#consume(chunk, newline === -1 ? chunk.length : newline + 1);
        if (newline === -1) continue;
        const line = this.#partial.take(this.#partial.length);
        this.#frameLine(line, pieces);
        frames += 1;
        bytes += line.length + overhead;
        continue;
      }
      // The complete lines inside this chunk, as many as the limit allows.
      const ends = this.#ends;
      ends.length = 0;
      const budget = limit - bytes;
      const maxFrame = this.maxFrame;
      let size = 0;
      let lineStart = start;
      let i = start;
      for (; i < chunk.length; i++) {
        if (chunk[i] !== NEWLINE) continue;
        const length = i - lineStart;
        if (length > maxFrame) break;
        ends.push(i);
        size += length + overhead;
        lineStart = i + 1;
        if (size >= budget) break;
      }
      if (ends.length > 0) {
        pieces.push(this.#frameRun(chunk, start, ends, size));
        frames += ends.length;
        bytes += size;
      }
      if (i < chunk.length && i - lineStart > maxFrame) {
        this.#consume(chunk, lineStart);
        this.#fail(i - lineStart);
        break;
      }
      if (size >= budget && ends.length > 0) {
        this.#consume(chunk, lineStart);
        break;
      }
      // No newline after lineStart: the rest starts a line that later chunks complete.
      const rest = chunk.length - lineStart;
      if (rest > maxFrame) {
        this.#consume(chunk, lineStart);
        this.#fail(rest);
        break;
      }
      if (rest > 0) this.#partial.push(lineStart === 0 ? chunk : chunk.subarray(lineStart));
      this.#consume(chunk, chunk.length);
    }
    if (frames === 0) {
      if (this.#failed) throw this.#failed;
      return undefined;
    }
    return { pieces, frames, bytes };
  }

  /** The input ended: what is left is a last line without its newline (as LineDecoder.end delivers it). */
  end(): Reframed | undefined {
    if (this.#failed) throw this.#failed;
    for (const chunk of this.#chunks.splice(0)) {
      this.#partial.push(chunk.subarray(this.#offset));
      this.#offset = 0;
    }
    this.#buffered = 0;
    const length = this.#partial.length;
    if (length === 0) return undefined;
    if (length > this.maxFrame) {
      this.#fail(length);
      throw this.#failed!;
    }
    const pieces: Buffer[] = [];
    const line = this.#partial.take(length);
    this.#frameLine(line, pieces);
    return { pieces, frames: 1, bytes: length + (this.#headerSize === 0 ? 1 : this.#headerSize) };
  }

  #consume(chunk: Buffer, to: number): void {
    this.#buffered -= to - this.#offset;
    if (to === chunk.length) {
      this.#chunks.shift();
      this.#offset = 0;
    } else {
      this.#offset = to;
    }
  }

  #frameLine(line: Buffer, pieces: Buffer[]): void {
    const headerSize = this.#headerSize;
    if (headerSize === 0) {
      pieces.push(line, NEWLINE_BUFFER);
      return;
    }
    const header = Buffer.allocUnsafe(headerSize);
    header.writeUIntBE(line.length, 0, headerSize);
    pieces.push(header);
    if (line.length > 0) pieces.push(line);
  }

  // The lines of chunk from `start` that end at `ends`, framed into one buffer of `size` bytes. In line mode
  // that is the chunk's own bytes.
  #frameRun(chunk: Buffer, start: number, ends: number[], size: number): Buffer {
    const headerSize = this.#headerSize;
    if (headerSize === 0) return chunk.subarray(start, ends[ends.length - 1]! + 1);
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    let from = start;
    for (let n = 0; n < ends.length; n++) {
      const to = ends[n]!;
      const length = to - from;
      if (headerSize === 4) {
        out[at] = length >>> 24;
        out[at + 1] = (length >>> 16) & 0xff;
        out[at + 2] = (length >>> 8) & 0xff;
        out[at + 3] = length & 0xff;
      } else if (headerSize === 2) {
        out[at] = length >>> 8;
        out[at + 1] = length & 0xff;
      } else {
        out[at] = length;
      }
      at += headerSize;
      if (length < SHORT_LINE) {
        for (let k = from; k < to; k++) out[at++] = chunk[k]!;
      } else {
        chunk.copy(out, at, from, to);
        at += length;
      }
      from = to + 1;
    }
    return out;
  }

  #fail(length: number): void {
    this.#failed = new FrameTooLargeError(length, this.maxFrame, 'line');
    this.#partial.clear();
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
  }
}
