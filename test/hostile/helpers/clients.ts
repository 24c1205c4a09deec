// The honest side of the hostile suite: verified TLS clients with their own few lines of framing (never the
// codec under test), raw TCP sockets for clients that are not honest, and timing helpers.
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import {
  connect as tlsConnect,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import type { HostilePki } from './pki.js';

export type HeaderSize = 1 | 2 | 4;

/** A length header of `size` bytes declaring `length`: honest or not, as the test wants. */
export function header(length: number, size: HeaderSize = 4): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.writeUIntBE(length, 0, size);
  return bytes;
}

/** One `{packet, N}` frame. */
export function frame(payload: Buffer | string, size: HeaderSize = 4): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([header(body.length, size), body]);
}

// One context per CA: parsing the CA for each of thousands of connections would dominate a flood's time.
const contexts = new WeakMap<HostilePki, SecureContext>();
const CONTEXT_OPTIONS = new Set(['minVersion', 'maxVersion', 'ciphers', 'ecdhCurve', 'cert', 'key', 'ca']);

/** A TLS connection to the server under test that verified its certificate against the suite's CA. */
export async function connectTls(
  port: number,
  pki: HostilePki,
  options: ConnectionOptions = {},
): Promise<TLSSocket> {
  // Options that shape the context (versions, ciphers) need a context of their own.
  const shared = Object.keys(options).every((key) => !CONTEXT_OPTIONS.has(key));
  let secureContext = shared ? contexts.get(pki) : undefined;
  if (!secureContext) {
    secureContext = createSecureContext({ ca: pki.caPem, ...options });
    if (shared) contexts.set(pki, secureContext);
  }
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options, secureContext });
  try {
    await once(socket, 'secureConnect');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  if (!socket.authorized) throw new Error(`server not verified: ${String(socket.authorizationError)}`);
  return socket;
}

/** A plain TCP connection, for clients that never speak TLS (or never finish speaking it). */
export async function connectTcp(port: number): Promise<Socket> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Reads `{packet, 4}` replies off a socket; knows whether the stream ended and what was left over. */
export class FrameReader {
  readonly frames: Buffer[] = [];
  ended = false;
  error: Error | undefined;
  /** When the socket closed (Date.now()), or 0. */
  closedAt = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #wake = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
      this.#notify();
    });
    socket.on('error', (error) => {
      this.error = error;
    });
    socket.on('close', () => {
      this.ended = true;
      this.closedAt = Date.now();
      this.#notify();
    });
  }

  /** Bytes received that do not make a whole frame: a reply cut in half would show here. */
  get leftover(): Buffer {
    return this.#buffer;
  }

  /** Waits until `count` frames in all have arrived; rejects if the stream ends first or time runs out. */
  until(count: number, timeoutMs = 5000): Promise<Buffer[]> {
    return this.#wait(
      () => this.frames.length >= count,
      timeoutMs,
      () => {
        const why = this.ended ? 'the connection closed' : `${timeoutMs} ms passed`;
        return new Error(`${this.frames.length} of ${count} replies before ${why}`);
      },
    );
  }

  /** Waits for the socket to close; resolves with Date.now() at the close. */
  async closed(timeoutMs = 5000): Promise<number> {
    await this.#wait(
      () => this.ended,
      timeoutMs,
      () => new Error(`still open after ${timeoutMs} ms`),
      true,
    );
    return this.closedAt;
  }

  #wait(done: () => boolean, timeoutMs: number, failure: () => Error, endIsFine = false): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) finish(() => resolve(this.frames));
        else if (this.ended && !endIsFine) finish(() => reject(failure()));
      };
      const timer = setTimeout(() => finish(() => reject(failure())), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#wake.delete(check);
        settle();
      };
      this.#wake.add(check);
      check();
    });
  }

  #notify(): void {
    for (const wake of [...this.#wake]) wake();
  }

  #parse(): void {
    let offset = 0;
    const buffer = this.#buffer;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (buffer.length - offset - 4 < length) break;
      this.frames.push(buffer.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (offset > 0) this.#buffer = buffer.subarray(offset);
  }
}

/**
 * What an honest user does: connect (verifying the server), send a few messages, check each reply byte for
 * byte and in order, hang up. Resolves with how long the whole exchange took, in ms.
 */
export async function honestExchange(port: number, pki: HostilePki, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  const socket = await connectTls(port, pki, { timeout: timeoutMs });
  try {
    const reader = new FrameReader(socket);
    const messages = [Buffer.from('honest'), Buffer.alloc(3000, 'x'), Buffer.from(`at ${started}`)];
    socket.write(Buffer.concat(messages.map((message) => frame(message))));
    const replies = await reader.until(messages.length, timeoutMs);
    messages.forEach((message, index) => {
      if (!replies[index]!.equals(message)) throw new Error(`reply ${index} differs from what was sent`);
    });
    return performance.now() - started;
  } finally {
    socket.destroy();
  }
}

/** Resolves with how long after `since` (performance.now()) the socket closed; rejects after `timeoutMs`. */
export function timeToClose(socket: Socket, since: number, timeoutMs: number): Promise<number> {
  if (socket.closed) return Promise.resolve(performance.now() - since);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - since);
    });
  });
}

/**
 * Prints a case's figures in the test output and, when HOSTILE_REPORT names a file, appends them to it as
 * one JSON line (the figures quoted in docs/security.md come from there).
 */
export function report(name: string, figures: Record<string, string | number | boolean>): void {
  const text = Object.entries(figures)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  console.log(`[hostile] ${name}: ${text}`);
  const file = process.env.HOSTILE_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify({ case: name, ...figures })}\n`);
}

/** Rounds a duration to whole milliseconds for reports. */
export function ms(value: number): number {
  return Math.round(value);
}
