import { appendCapped } from './coalesce.js';
import { readHeader } from './header.js';

/**
 * Received chunks kept as a list with a running byte count, after ws's receiver: bytes are consumed from
 * the front without concatenating on arrival, so a payload that arrived whole is returned as a view and
 * every byte is copied at most once by `take` (plus, amortised, at most twice more by `appendCapped`, only
 * when a peer trickles many tiny chunks).
 */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  #headOffset = 0; // bytes of #chunks[0] already consumed
  #length = 0;

  /** Past this many chunks, `push` merges the newest half: a 1-byte-per-record peer must not cost an object per byte. */
  static readonly MAX_CHUNKS = 1024;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#length += chunk.length;
    // Only the newest half of the chunks is ever merged, so never the head, which may be partly consumed.
    appendCapped(this.#chunks, chunk, ChunkQueue.MAX_CHUNKS);
  }

  /** Reads a `{packet, N}` header (`size` 1, 2 or 4 bytes) at the front without consuming it. */
  peekHeader(size: number): number {
    const head = this.#chunks[0]!;
    if (head.length - this.#headOffset >= size) return readHeader(head, this.#headOffset, size);
    let value = 0;
    let chunkIndex = 0;
    let offset = this.#headOffset;
    for (let i = 0; i < size; i++) {
      let chunk = this.#chunks[chunkIndex]!;
      if (offset >= chunk.length) {
        chunkIndex += 1;
        chunk = this.#chunks[chunkIndex]!;
        offset = 0;
      }
      value = value * 256 + chunk[offset]!;
      offset += 1;
    }
    return value;
  }

  /** Drops `n` bytes from the front. */
  skip(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const head = this.#chunks[0]!;
      const available = head.length - this.#headOffset;
      if (available > n) {
        this.#headOffset += n;
        return;
      }
      n -= available;
      this.#chunks.shift();
      this.#headOffset = 0;
    }
  }

  /**
   * Removes and returns the first `n` bytes: the head chunk itself when it is exactly those bytes, a view
   * when they lie inside it, otherwise one copy.
   */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const head = this.#chunks[0]!;
    const start = this.#headOffset;
    const available = head.length - start;
    if (available >= n) {
      this.#length -= n;
      if (available === n) {
        this.#chunks.shift();
        this.#headOffset = 0;
        return start === 0 ? head : head.subarray(start);
      }
      this.#headOffset += n;
      return head.subarray(start, start + n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const from = this.#headOffset;
      const count = Math.min(chunk.length - from, n - filled);
      chunk.copy(out, filled, from, from + count);
      filled += count;
      if (from + count === chunk.length) {
        this.#chunks.shift();
        this.#headOffset = 0;
      } else {
        this.#headOffset = from + count;
      }
    }
    this.#length -= n;
    return out;
  }

  /** Index of `byte` counted from the front, searching from `fromIndex`, or -1. */
  indexOf(byte: number, fromIndex = 0): number {
    let base = 0;
    for (let i = 0; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i]!;
      const start = i === 0 ? this.#headOffset : 0;
      const size = chunk.length - start;
      if (fromIndex < base + size) {
        const found = chunk.indexOf(byte, start + Math.max(0, fromIndex - base));
        if (found !== -1) return base + found - start;
      }
      base += size;
    }
    return -1;
  }

  clear(): void {
    this.#chunks = [];
    this.#headOffset = 0;
    this.#length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
