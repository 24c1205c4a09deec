import type { Socket } from 'node:net';
import type { FrameEncoder } from '../codec/encoder.js';
import type { PacketMode } from '../codec/limits.js';
import type { Reply } from './handlers/types.js';

// A batch of replies this many pieces (two per reply) or more, averaging under this many bytes, is copied into
// one buffer before it is written (TLS copies the pieces of a write into one buffer anyway).
const COALESCE_MIN_PIECES = 16;
const COALESCE_MAX_AVERAGE = 256;

/** The counters an outbox adds to: its connection's. */
export interface ReplyCounters {
  framesOut: number;
  bytesOut: number;
}

/**
 * A handler's replies on their way out: framed as they are produced, gathered, and written together by
 * `flush` (one cork per batch, so they share TLS records). Flow control stays with the connection: `flush`
 * and `writeFramed` return the bytes of a write that filled the socket's queue past Node's mark, else undefined.
 */
export class ReplyOutbox {
  readonly #socket: Socket;
  readonly #counters: ReplyCounters;
  readonly #encoder: FrameEncoder;
  readonly #mode: PacketMode;
  readonly #trace: ((message: Buffer) => void) | undefined;
  #pieces: Buffer[] = [];
  #bytes = 0;

  constructor(
    socket: Socket,
    counters: ReplyCounters,
    framing: { encoder: FrameEncoder; mode: PacketMode },
    /** Called with each reply's message, for `--verbose`; undefined when nobody watches. */
    trace: ((message: Buffer) => void) | undefined,
  ) {
    this.#socket = socket;
    this.#counters = counters;
    this.#encoder = framing.encoder;
    this.#mode = framing.mode;
    this.#trace = trace;
  }

  /** Framed bytes gathered and not yet written. */
  get bytes(): number {
    return this.#bytes;
  }

  get isEmpty(): boolean {
    return this.#pieces.length === 0;
  }

  /** Frames one reply and queues it; throws what the encoder throws (a reply too large), queueing nothing. */
  push(reply: Reply): void {
    const payload = typeof reply === 'string' ? Buffer.from(reply) : reply;
    const [first, second] = this.#encoder.encode(payload);
    this.#pieces.push(first, second);
    this.#bytes += first.length + second.length;
    this.#counters.framesOut += 1;
    if (this.#trace) this.#trace(this.#mode === 'line' ? first : second);
  }

  /** Drops what is queued: the peer is gone, nobody to send to. */
  clear(): void {
    this.#bytes = 0;
    // Setting an array's length is a call into the runtime even when it is already 0.
    if (this.#pieces.length > 0) this.#pieces.length = 0;
  }

  /** Writes the queued replies; see the class comment for the return value. */
  flush(): number | undefined {
    const pieces = this.#pieces;
    const bytes = this.#bytes;
    this.#bytes = 0;
    const socket = this.#socket;
    let ok = true;
    let written = 0;
    if (pieces.length >= COALESCE_MIN_PIECES && bytes < pieces.length * COALESCE_MAX_AVERAGE) {
      // Many small replies (an `exec:` child printing short lines): one buffer instead of a write, and an
      // object held until it is sent, per header and per payload.
      written = bytes;
      ok = socket.write(Buffer.concat(pieces, bytes));
    } else {
      socket.cork();
      for (const buffer of pieces) {
        if (buffer.length === 0) continue; // the body of an empty frame
        written += buffer.length;
        ok = socket.write(buffer);
      }
      socket.uncork();
    }
    this.#counters.bytesOut += written;
    pieces.length = 0;
    return ok ? undefined : written;
  }

  /** Replies a handler framed itself (an `exec:` child's lines, in bulk), written as they are. */
  writeFramed(pieces: readonly Buffer[], frames: number, bytes: number): number | undefined {
    const socket = this.#socket;
    let ok = true;
    if (pieces.length === 1) {
      ok = socket.write(pieces[0]!);
    } else {
      socket.cork();
      for (const piece of pieces) if (piece.length > 0) ok = socket.write(piece);
      socket.uncork();
    }
    this.#counters.framesOut += frames;
    this.#counters.bytesOut += bytes;
    return ok ? undefined : bytes;
  }
}
