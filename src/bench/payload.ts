import { frameHeader } from '../codec/encoder.js';
import type { PacketMode } from '../codec/limits.js';

// Every message is unique: its payload starts with the sequence number in hex (the low digits when the
// payload is shorter than that), followed by a fixed printable pattern. Printable bytes keep the payloads
// valid in line mode, and the sequence number lets a reply that skips ahead be told apart from one that
// was corrupted.
const SEQUENCE_DIGITS = 12; // 2^48 messages per connection: more than any run sends
const PATTERN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const NEWLINE = 0x0a;
const HEX = Buffer.from('0123456789abcdef');

/**
 * Builds the frames one connection sends and checks the replies it gets back, byte for byte, without keeping
 * the sent payloads: the expected reply is recomputed from its sequence number.
 */
export class PayloadFactory {
  readonly frameBytes: number;
  readonly #template: Buffer; // one whole frame on the wire: header (or trailing newline) and pattern
  readonly #payloadOffset: number;
  readonly #digits: number;
  readonly #expected: Buffer; // scratch space for the expected sequence digits
  // The bytes of the current expected frame up to the end of its sequence digits (the header, if any, then
  // the digits): with the template for the rest, all a piece of a reply is compared with.
  readonly #prefix: Buffer;
  #prefixSequence = -1;

  constructor(
    readonly size: number,
    mode: PacketMode,
    maxFrame?: number,
  ) {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = PATTERN.charCodeAt(i % PATTERN.length);
    if (mode === 'line') {
      this.#template = Buffer.concat([payload, Buffer.from([NEWLINE])]);
      this.#payloadOffset = 0;
    } else {
      this.#template = Buffer.concat([frameHeader(size, mode, maxFrame), payload]);
      this.#payloadOffset = mode;
    }
    this.frameBytes = this.#template.length;
    this.#digits = Math.min(size, SEQUENCE_DIGITS);
    this.#expected = Buffer.alloc(this.#digits);
    this.#prefix = Buffer.from(this.#template.subarray(0, this.#payloadOffset + this.#digits));
  }

  /** `count` consecutive frames starting at `firstSequence`, in one buffer: one write, few TLS records. */
  frames(firstSequence: number, count: number): Buffer {
    const frameBytes = this.frameBytes;
    const batch = Buffer.allocUnsafe(frameBytes * count);
    for (let i = 0; i < count; i++) {
      const at = i * frameBytes;
      this.#template.copy(batch, at);
      this.#writeSequence(batch, at + this.#payloadOffset, firstSequence + i);
    }
    return batch;
  }

  /**
   * Makes frame `index` of a buffer built by `frames()` the frame of message `sequence`. Two frames differ
   * only in their sequence digits, so a buffer whose write has completed can be sent again without a copy.
   */
  renumber(batch: Buffer, index: number, sequence: number): void {
    this.#writeSequence(batch, index * this.frameBytes + this.#payloadOffset, sequence);
  }

  /** True when `reply` is exactly the payload of message `sequence`. */
  matches(reply: Buffer, sequence: number): boolean {
    if (reply.length !== this.size) return false;
    const digits = this.#digits;
    this.#writeSequence(this.#expected, 0, sequence);
    if (this.#expected.compare(reply, 0, digits, 0, digits) !== 0) return false;
    const offset = this.#payloadOffset;
    return this.#template.compare(reply, digits, this.size, offset + digits, offset + this.size) === 0;
  }

  /**
   * True when bytes `start` to `end` of `chunk` are bytes `at` onwards of message `sequence`'s frame as it
   * was sent (header or newline included). Checks a reply stream piece by piece as it arrives, so a frame
   * that straddles reads never has to be put back together.
   */
  matchesFrameBytes(chunk: Buffer, start: number, end: number, sequence: number, at: number): boolean {
    const prefix = this.#prefix;
    if (at < prefix.length) {
      if (this.#prefixSequence !== sequence) {
        this.#writeSequence(prefix, this.#payloadOffset, sequence);
        this.#prefixSequence = sequence;
      }
      const stop = Math.min(prefix.length, at + end - start);
      const middle = start + stop - at;
      if (prefix.compare(chunk, start, middle, at, stop) !== 0) return false;
      if (middle === end) return true;
      start = middle;
      at = stop;
    }
    return this.#template.compare(chunk, start, end, at, at + end - start) === 0;
  }

  /**
   * The sequence number a reply carries, when the payload is long enough to hold all of it and the reply
   * looks like one of ours; otherwise -1. Used only after a mismatch, to tell a lost message from a corrupt one.
   */
  sequenceOf(reply: Buffer): number {
    if (this.#digits < SEQUENCE_DIGITS || reply.length !== this.size) return -1;
    const text = reply.toString('latin1', 0, SEQUENCE_DIGITS);
    return /^[0-9a-f]+$/.test(text) ? parseInt(text, 16) : -1;
  }

  // Writes the low `digits` hex digits of `sequence`, most significant first.
  #writeSequence(target: Buffer, at: number, sequence: number): void {
    let value = sequence;
    for (let i = this.#digits - 1; i >= 0; i--) {
      target[at + i] = HEX[value % 16]!;
      value = Math.floor(value / 16);
    }
  }
}
