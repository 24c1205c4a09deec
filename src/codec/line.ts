import { FrameTooLargeError, type TlsechoError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { defaultMaxFrame, validateMaxFrame } from './limits.js';
import type { Decoder, FrameHandler } from './decoder.js';

const NEWLINE = 0x0a;

/**
 * Newline-delimited frames, for peers that use Erlang's `{packet, line}`. A frame is the bytes before a
 * `\n`, which is not part of it. Unlike Erlang, which splits a line longer than `line_length` into pieces,
 * a line longer than `maxFrame` is an error: pieces would look like separate messages.
 */
export class LineDecoder implements Decoder {
  readonly mode = 'line' as const;
  readonly maxFrame: number;
  #queue = new ChunkQueue();
  #scanned = 0; // bytes of the queue already known to hold no newline
  #failed: TlsechoError | undefined;

  constructor(maxFrame: number = defaultMaxFrame('line')) {
    this.maxFrame = validateMaxFrame('line', maxFrame);
  }

  get buffered(): number {
    return this.#queue.length;
  }

  get inFrame(): boolean {
    return this.#queue.length > 0;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.#failed) throw this.#failed;
    const queue = this.#queue;
    queue.push(chunk);
    for (;;) {
      const newline = queue.indexOf(NEWLINE, this.#scanned);
      if (newline === -1) {
        this.#scanned = queue.length;
        if (queue.length > this.maxFrame) this.#fail(queue.length);
        return;
      }
      if (newline > this.maxFrame) this.#fail(newline);
      const line = queue.take(newline);
      queue.skip(1);
      this.#scanned = 0;
      if (onFrame(line) === false) return;
    }
  }

  resume(onFrame: FrameHandler): void {
    this.push(EMPTY, onFrame);
  }

  /** A last line without its newline is still delivered: input from a file often lacks the final `\n`. */
  end(onFrame?: FrameHandler): void {
    if (this.#failed || this.#queue.length === 0) return;
    const rest = this.#queue.take(this.#queue.length);
    this.#scanned = 0;
    onFrame?.(rest);
  }

  #fail(length: number): never {
    this.#failed = new FrameTooLargeError(length, this.maxFrame, 'line');
    this.#queue.clear();
    throw this.#failed;
  }
}

const EMPTY = Buffer.alloc(0);
