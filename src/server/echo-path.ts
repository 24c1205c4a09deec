import type { Socket } from 'node:net';
import { appendCapped } from '../codec/coalesce.js';
import type { PacketMode } from '../codec/limits.js';
import { FrameBoundaryScanner } from './frame-scanner.js';

// The pieces of a frame that straddled chunks are written under one cork up to this size, which makes Node
// copy them into one native buffer for OpenSSL; larger frames go out piece by piece, uncopied.
const COALESCE_LIMIT = 64 * 1024;
// Past this many held pieces, the newest half are merged into one growing buffer (appendCapped): a peer
// trickling one byte per TLS record must not cost a Buffer object per byte, nor copying that grows with the
// square of the frame. The codec's ChunkQueue caps its list for the same reason, at 1,024 (ChunkQueue.MAX_CHUNKS); this cap
// is lower because each held piece becomes one socket.write when the frame is echoed.
const MAX_HELD_PIECES = 64;

const NEWLINE = Buffer.from('\n');

/** The counters an echo path adds to: its connection's. */
export interface EchoCounters {
  framesIn: number;
  framesOut: number;
  bytesOut: number;
}

/**
 * The echo handler's fast path: finds frame boundaries and writes back each chunk's complete frames as the
 * bytes that arrived, one write per chunk, no per-frame work or copy. The bytes of a frame that goes on in
 * the next chunk are held (as pieces, uncopied) until it is complete. Flow control and closing stay with
 * the connection, which reads the outcome of each chunk from the return value and `error`.
 */
export class EchoPath {
  readonly #socket: Socket;
  readonly #counters: EchoCounters;
  readonly #mode: PacketMode;
  readonly #maxFrame: number;
  #scanner: FrameBoundaryScanner;
  #held: Buffer[] | undefined;
  #heldBytes = 0;

  constructor(socket: Socket, counters: EchoCounters, mode: PacketMode, maxFrame: number) {
    this.#socket = socket;
    this.#counters = counters;
    this.#mode = mode;
    this.#maxFrame = maxFrame;
    this.#scanner = new FrameBoundaryScanner(mode, maxFrame);
  }

  /** Whether the bytes received so far end inside a frame. */
  get inFrame(): boolean {
    return this.#scanner.inFrame;
  }

  /** A frame too large, once one was announced: the connection must close. Frames before it were echoed. */
  get error(): Error | undefined {
    return this.#scanner.error;
  }

  /**
   * Scans `chunk`, writes back its complete frames (after the held start of the first, if any) and holds
   * the rest. Returns the bytes of the write when the socket's queue passed Node's mark (write() returned
   * false), otherwise 0.
   */
  receive(chunk: Buffer): number {
    const scanner = this.#scanner;
    const boundary = scanner.scan(chunk);
    const frames = scanner.frames;
    if (frames > 0 && boundary === chunk.length && this.#held === undefined) {
      // The common case, kept small so V8 inlines it whole: the chunk is whole frames, written back as it came.
      const counters = this.#counters;
      counters.framesIn += frames;
      counters.framesOut += frames;
      counters.bytesOut += boundary;
      return this.#socket.write(chunk) ? 0 : chunk.length;
    }
    return this.#receiveAcrossChunks(chunk, boundary, frames);
  }

  // Frames that began in earlier chunks, a frame that goes on in the next, or a frame too large.
  #receiveAcrossChunks(chunk: Buffer, boundary: number, frames: number): number {
    let full = 0;
    if (frames > 0) {
      this.#counters.framesIn += frames;
      this.#counters.framesOut += frames;
      full = this.#writeEchoed(chunk, boundary);
    }
    if (this.#scanner.error) return full;
    if (boundary < chunk.length) this.#hold(boundary === 0 ? chunk : chunk.subarray(boundary));
    return full;
  }

  #writeEchoed(chunk: Buffer, boundary: number): number {
    const slice = boundary === chunk.length ? chunk : chunk.subarray(0, boundary);
    const held = this.#held;
    const socket = this.#socket;
    let ok: boolean;
    let written = boundary;
    if (held === undefined) {
      this.#counters.bytesOut += boundary;
      ok = socket.write(slice);
    } else {
      const total = this.#heldBytes + boundary;
      written = total;
      this.#held = undefined;
      this.#heldBytes = 0;
      this.#counters.bytesOut += total;
      held.push(slice);
      // Corked, the pieces reach OpenSSL as one write and leave in full records. Never Buffer.concat here:
      // a fresh buffer per frame is garbage that V8 must collect, and at 16 KiB frames the major GCs it
      // triggers cost more than the encryption.
      const cork = total <= COALESCE_LIMIT;
      if (cork) socket.cork();
      ok = true;
      for (const piece of held) ok = socket.write(piece);
      if (cork) socket.uncork();
    }
    return ok ? 0 : written;
  }

  #hold(piece: Buffer): void {
    this.#heldBytes += piece.length;
    if (this.#held === undefined) {
      this.#held = [piece];
      return;
    }
    appendCapped(this.#held, piece, MAX_HELD_PIECES);
  }

  /**
   * At the client's end, in line mode: a last line without its newline is still a message (as
   * LineDecoder.end delivers it), echoed with one. Then the error for a frame cut short, if any.
   */
  end(): Error | undefined {
    if (this.#scanner.inFrame) this.#echoLastLine();
    return this.#scanner.truncation();
  }

  #echoLastLine(): void {
    if (this.#mode !== 'line' || this.#held === undefined) return;
    const held = this.#held;
    this.#held = undefined;
    const counters = this.#counters;
    counters.framesIn += 1;
    counters.framesOut += 1;
    counters.bytesOut += this.#heldBytes + 1;
    this.#heldBytes = 0;
    this.#socket.write(Buffer.concat([...held, NEWLINE]));
    this.#scanner = new FrameBoundaryScanner('line', this.#maxFrame);
  }

  /** Drops the held bytes: the connection is closing. */
  discard(): void {
    this.#held = undefined;
  }
}
