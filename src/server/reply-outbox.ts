import type { Socket } from 'node:net';
import type { FrameEncoder } from '../codec/encoder.js';
import type { PacketMode } from '../codec/limits.js';
import type { Reply } from './handlers/types.js';

// A batch of replies this many pieces (two per reply) or more, averaging under this many bytes, is copied into
// one buffer before it is written (TLS copies the pieces of a write into one buffer anyway).
const COALESCE_MIN_PIECES = 16;
const COALESCE_MAX_AVERAGE = 256;

// Reading pauses, and the handler gets no further message, once more than this many reply bytes wait in the
// socket's queue (replies produced but not yet written count too). Node's own signal (write()
// returning false) comes at 16 KiB, less than one read of pipelined frames brings in, so obeying it stopped and
// restarted reading on nearly every read of a busy connection: a JS round trip and two epoll_ctl calls each
// time, which the raw pipe pays too. 64 KiB, one full socket read, still bounds what a client that never reads
// can make us hold. The write just made does not count towards it: those bytes were already ours to hold, and
// counting them made every frame larger than the limit (a 64 KiB payload and its header) stop reading by itself.
// The bound is checked before every message, not once per chunk read: one 16 KiB TLS record holds 4,096 empty
// frames, and a handler answering each with 64 KiB would otherwise queue 256 MiB from it.
export const REPLY_QUEUE_LIMIT = 64 * 1024;

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
