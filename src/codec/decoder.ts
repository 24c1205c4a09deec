import { FrameTooLargeError, ProtocolError, TruncatedFrameError, type TlsechoError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { readHeader } from './header.js';
import { defaultMaxFrame, validateMaxFrame, type HeaderSize, type PacketMode } from './limits.js';

/**
 * Receives each complete frame. Returning `false` (exactly: any other value goes on) stops delivery after
 * this frame; the bytes after it stay buffered, undecoded, until `resume` (or the next `push`) asks for more.
 */
export type FrameHandler = (frame: Buffer) => unknown;

/** What every decoder offers, whatever the framing: push bytes in, get whole frames out. */
export interface Decoder {
  readonly mode: PacketMode;
  readonly maxFrame: number;
  /** Bytes received but not yet delivered as a frame. */
  readonly buffered: number;
  /** True while part of a frame has been received. */
  readonly inFrame: boolean;
  /**
   * Delivers every complete frame in order, then throws a typed ProtocolError if the input breaks the
   * framing; stops early, keeping the rest, when `onFrame` returns false.
   */
  push(chunk: Buffer, onFrame: FrameHandler): void;
  /** Goes on delivering what an earlier `push` kept when `onFrame` stopped it: `push` of no new bytes. */
  resume(onFrame: FrameHandler): void;
  /** Declares end of input; throws TruncatedFrameError (or delivers a last line) when bytes are left over. */
  end(onFrame?: FrameHandler): void;
}

/**
 * Splits a byte stream into `{packet, N}` frames: an N-byte unsigned big-endian length, then the payload.
 * Push-driven and free of I/O so that streams, sockets and property tests can all drive it.
 *
 * Frames are delivered as views into the received chunks when they arrived whole; a consumer that keeps a
 * frame for long should copy it, or it keeps the whole chunk alive.
 */
export class FrameDecoder implements Decoder {
  readonly maxFrame: number;
  #queue = new ChunkQueue();
  #bodyLength = -1; // -1 until the current header is complete
  #failed: TlsechoError | undefined;
  #stopped = false; // onFrame asked to stop during #takeWholeFrames

  constructor(
    readonly mode: HeaderSize,
    maxFrame: number = defaultMaxFrame(mode),
  ) {
    if (mode !== 1 && mode !== 2 && mode !== 4)
      throw new ProtocolError(`invalid header size ${String(mode)}`);
    this.maxFrame = validateMaxFrame(mode, maxFrame);
  }

  get buffered(): number {
    return this.#queue.length;
  }

  get inFrame(): boolean {
    return this.#bodyLength >= 0 || this.#queue.length > 0;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.#failed) throw this.#failed;
    const queue = this.#queue;
    if (queue.length === 0 && this.#bodyLength < 0) {
      // Between frames, which is where a chunk of whole frames finds us: cut them straight from the chunk.
      const consumed = this.#takeWholeFrames(chunk, onFrame);
      if (consumed === chunk.length) return;
      queue.push(consumed === 0 ? chunk : chunk.subarray(consumed));
      if (this.#stopped) {
        this.#stopped = false;
        return;
      }
    } else {
      queue.push(chunk);
    }
    this.#takeQueuedFrames(onFrame);
  }

  // Delivers the frames that lie whole in `chunk` from its start; returns where the first incomplete (or
  // too large: the general path refuses it) frame begins, or where `onFrame` asked to stop (#stopped). If
  // `onFrame` throws, the rest is kept queued, as the general path would have it.
  #takeWholeFrames(chunk: Buffer, onFrame: FrameHandler): number {
    const headerSize = this.mode;
    const maxFrame = this.maxFrame;
    const length = chunk.length;
    let position = 0;
    while (length - position >= headerSize) {
      const declared = readHeader(chunk, position, headerSize);
      const start = position + headerSize;
      const end = start + declared;
      if (end > length || declared > maxFrame) break;
      position = end;
      let more: unknown;
      try {
        more = onFrame(chunk.subarray(start, end));
      } catch (error) {
        if (position < length) this.#queue.push(chunk.subarray(position));
        throw error;
      }
      if (more === false) {
        this.#stopped = position < length;
        break;
      }
    }
    return position;
  }

  #takeQueuedFrames(onFrame: FrameHandler): void {
    const queue = this.#queue;
    const headerSize = this.mode;
    for (;;) {
      if (this.#bodyLength < 0) {
        if (queue.length < headerSize) return;
        const declared = queue.peekHeader(headerSize);
        // Refuse before waiting for (or allocating) the body: the peer may be lying about its length.
        // Erlang's packet_size check is the same: inclusive, and made from the header alone.
        if (declared > this.maxFrame) {
          this.#failed = new FrameTooLargeError(declared, this.maxFrame, 'received', headerSize);
          queue.clear();
          throw this.#failed;
        }
        queue.skip(headerSize);
        this.#bodyLength = declared;
      }
      if (queue.length < this.#bodyLength) return;
      const frame = queue.take(this.#bodyLength);
      this.#bodyLength = -1;
      if (onFrame(frame) === false) return;
    }
  }

  resume(onFrame: FrameHandler): void {
    this.push(EMPTY, onFrame);
  }

  end(): void {
    if (this.#failed) return;
    const buffered = this.#queue.length;
    if (this.#bodyLength >= 0) {
      this.#failed = new TruncatedFrameError(this.#bodyLength - buffered, this.#bodyLength);
    } else if (buffered > 0) {
      this.#failed = new TruncatedFrameError(this.mode - buffered, this.mode);
    } else {
      return;
    }
    this.#queue.clear();
    throw this.#failed;
  }
}

const EMPTY = Buffer.alloc(0);
