import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { Decoder } from './decoder.js';
import type { FrameEncoder } from './encoder.js';

/**
 * Bytes in, frames out (object mode). A framing error is emitted as the stream's error after every frame
 * before it has been pushed, so a consumer sees the honest frames first.
 */
export class FrameDecodeStream extends Transform {
  constructor(readonly decoder: Decoder) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk, (frame) => this.push(frame));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.end((frame) => this.push(frame));
      callback();
    } catch (error) {
      callback(error as Error);
    }
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
