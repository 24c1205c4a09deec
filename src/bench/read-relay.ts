import type { OnReadOpts } from 'node:net';

// One TLS record's plaintext at most (OpenSSL hands Node up to 16 KiB per read); a smaller buffer would only
// split a record over several callbacks.
const READ_BUFFER_BYTES = 16 * 1024;

type ChunkHandler = (chunk: Buffer) => void;

/**
 * Decrypted bytes read into one buffer that the socket reuses (the `onread` option of `tls.connect`), passed
 * on to whoever attaches. Without it, Node allocates a fresh buffer for every TLS record and emits it as a
 * `'data'` event: for a load generator reading hundreds of MB/s that is as many MB/s of garbage, and the
 * collections that clear it run on the cores the server under test needs.
 *
 * The chunks are views of the shared buffer, valid only until the handler returns. Bytes that arrive
 * before a handler is attached (a server that speaks first) are copied and kept for it.
 */
export class ReadRelay {
  readonly options: OnReadOpts;
  #handler: ChunkHandler | undefined;
  #early: Buffer[] = [];

  constructor() {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    this.options = {
      buffer,
      callback: (bytesRead) => {
        const chunk = buffer.subarray(0, bytesRead);
        if (this.#handler) this.#handler(chunk);
        else this.#early.push(Buffer.from(chunk));
        return true;
      },
    };
  }

  attach(handler: ChunkHandler): void {
    this.#handler = handler;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) handler(chunk);
  }
}
