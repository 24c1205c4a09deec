import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { Decoder } from './decoder.js';
import type { FrameEncoder } from './encoder.js';

/**
 * Bytes in, frames out (object mode). A framing error is emitted as the stream's error after every frame
 * before it has been read, so a consumer sees the honest frames first, whether it listens for `data` or
 * pulls (`for await`, `pipeline`).
 */
export class FrameDecodeStream extends Transform {
  // Destroying a stream drops the frames it still buffers, so an error waits here until they are read.
  #failure: Error | undefined;

  constructor(readonly decoder: Decoder) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#failure) {
      callback(); // the decoder has failed: what follows the error is not framed data
      return;
    }
    try {
      // Never hand back push()'s result: false only means the readable side is full, and a decoder told
      // false would keep the rest of the chunk undecoded, waiting for a resume() this stream never calls.
      // The stream's own backpressure (callback after push) already holds the writer back.
      this.decoder.push(chunk, (frame) => {
        this.push(frame);
      });
      callback();
    } catch (error) {
      this.#fail(error as Error, callback);
    }
  }

  override _flush(callback: TransformCallback): void {
    // Never end the readable side after an error: `end` would come before the error.
    if (this.#failure) return;
    try {
      this.decoder.end((frame) => {
        this.push(frame);
      });
      callback();
    } catch (error) {
      if (this.readableLength === 0) callback(error as Error);
      else this.#failure = error as Error;
    }
  }

  // Every consumer reads through here (flowing mode too), so this sees the last buffered frame leave.
  override read(size?: number): ReturnType<Transform['read']> {
    const frame: ReturnType<Transform['read']> = super.read(size);
    const failure = this.#failure;
    if (failure && this.readableLength === 0 && !this.destroyed) {
      process.nextTick(() => this.destroy(failure));
    }
    return frame;
  }

  #fail(error: Error, callback: TransformCallback): void {
    if (this.readableLength === 0) {
      callback(error);
      return;
    }
    this.#failure = error;
    callback();
  }
}

/** Payloads in (object mode), framed bytes out. */
export class FrameEncodeStream extends Transform {
  constructor(readonly encoder: FrameEncoder) {
    super({ writableObjectMode: true });
  }

  override _transform(payload: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const [first, second] = this.encoder.encode(payload);
      this.push(first);
      if (second.length > 0) this.push(second);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * Writes several payloads as frames in one go (under cork, so replies produced together leave together).
 * Encodes every payload before writing any, so an oversized one fails the batch with nothing half-sent.
 * Returns `write`'s backpressure signal.
 */
export function writeFrames(
  destination: Writable,
  encoder: FrameEncoder,
  payloads: readonly Uint8Array[],
): boolean {
  const parts = payloads.map((payload) => encoder.encode(payload));
  destination.cork();
  let ok = true;
  for (const [header, body] of parts) {
    destination.write(header);
    ok = destination.write(body);
  }
  // Uncork on the next tick (Node's documented idiom) so frames written in this tick share TLS records.
  process.nextTick(() => destination.uncork());
  return ok;
}
