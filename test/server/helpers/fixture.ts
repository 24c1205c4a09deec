// Test side of the server tests: certificates from our own generator, a server on 127.0.0.1 port 0, and a
// client written against node:tls with its own few lines of framing, so the server's codec is never only
// checked against itself.
import { once, type EventEmitter } from 'node:events';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';
import { generateCa, issueCertificate, type GeneratedCertificate } from '../../../src/certs/generate.js';
import type { ConnectionSummary } from '../../../src/server/connection.js';
import type { HandshakeFailure } from '../../../src/server/handshake-failure.js';
import { createServer, type ServerOptions, type TlsechoServer } from '../../../src/server/server.js';

export interface Pki {
  ca: GeneratedCertificate;
  server: GeneratedCertificate;
  client: GeneratedCertificate;
  /** A client certificate from a CA the server does not know. */
  foreignClient: GeneratedCertificate;
}

let pki: Promise<Pki> | undefined;

/** One CA, a server certificate for localhost/127.0.0.1, and client certificates; made once per test file. */
export function testPki(): Promise<Pki> {
  pki ??= (async () => {
    const [ca, foreignCa] = await Promise.all([
      generateCa({ cn: 'test CA' }),
      generateCa({ cn: 'foreign CA' }),
    ]);
    const [server, client, foreignClient] = await Promise.all([
      issueCertificate({ issuer: ca, kind: 'server', hosts: ['localhost', '127.0.0.1'] }),
      issueCertificate({ issuer: ca, kind: 'client', cn: 'alice' }),
      issueCertificate({ issuer: foreignCa, kind: 'client', cn: 'mallory' }),
    ]);
    return { ca, server, client, foreignClient };
  })();
  return pki;
}

export interface RunningServer {
  server: TlsechoServer;
  port: number;
  pki: Pki;
  /** Every `disconnect` summary so far. */
  closed: ConnectionSummary[];
  tlsErrors: HandshakeFailure[];
  /** Resolves with the next `disconnect` summary matching `predicate`. */
  nextClose(
    predicate?: (summary: ConnectionSummary) => boolean,
    timeoutMs?: number,
  ): Promise<ConnectionSummary>;
}

/** A server with a CA-issued certificate on 127.0.0.1 port 0, destroyed when the test ends. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const keys = await testPki();
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    cert: keys.server.certPem,
    key: keys.server.keyPem,
    ...options,
  });
  onTestFinished(() => server.destroy());
  const closed: ConnectionSummary[] = [];
  const tlsErrors: HandshakeFailure[] = [];
  server.on('disconnect', (summary) => closed.push(summary));
  server.on('tlsError', (failure) => tlsErrors.push(failure));
  const { port } = await server.listen();
  return {
    server,
    port,
    pki: keys,
    closed,
    tlsErrors,
    nextClose: (predicate = () => true, timeoutMs = 5000) =>
      waitForEvent(
        server,
        'disconnect',
        predicate as (value: unknown) => boolean,
        timeoutMs,
      ) as Promise<ConnectionSummary>,
  };
}

/** Resolves with the first `event` argument that satisfies `predicate`; fails the test after `timeoutMs`. */
export function waitForEvent(
  emitter: EventEmitter,
  event: string,
  predicate: (value: unknown) => boolean = () => true,
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (value: unknown) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}

/** A verified TLS connection to the test server (trusting the test CA), closed when the test ends. */
export async function connectClient(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  const keys = await testPki();
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ca: keys.ca.certPem,
    servername: 'localhost',
    ...options,
  });
  onTestFinished(() => {
    socket.destroy();
  });
  await once(socket, 'secureConnect');
  if (!socket.authorized) throw new Error(`server not verified: ${String(socket.authorizationError)}`);
  return socket;
}

export type Mode = 1 | 2 | 4 | 'line';

/** Encodes one message, written out by hand: an N-byte big-endian length then the payload, or payload + \n. */
export function frame(payload: string | Buffer, mode: Mode = 4): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (mode === 'line') return Buffer.concat([body, Buffer.from('\n')]);
  const header = Buffer.alloc(mode);
  let length = body.length;
  for (let i = mode - 1; i >= 0; i--) {
    header[i] = length & 0xff;
    length = Math.floor(length / 256);
  }
  return Buffer.concat([header, body]);
}

/** Reads replies off a socket with its own parser; `next(n)` waits for n more, `all()` for the end. */
export class ReplyReader {
  readonly replies: Buffer[] = [];
  #buffer = Buffer.alloc(0);
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(
    readonly socket: TLSSocket,
    readonly mode: Mode = 4,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
      this.#wake?.();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', (error) => {
      this.#error = error;
      this.#wake?.();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** Bytes received that do not make a whole reply. */
  get leftover(): Buffer {
    return this.#buffer;
  }

  /** Waits until `count` replies in all have arrived (or the stream ends), then returns them all. */
  async until(count: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${this.replies.length} of ${count} replies in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.replies;
  }

  /** Waits for the server to close the stream; returns every reply. */
  async end(timeoutMs = 5000): Promise<Buffer[]> {
    return this.until(Number.POSITIVE_INFINITY, timeoutMs).catch((error: Error) => {
      if (this.#ended) return this.replies;
      throw error;
    });
  }

  #parse(): void {
    for (;;) {
      if (this.mode === 'line') {
        const newline = this.#buffer.indexOf(0x0a);
        if (newline === -1) return;
        this.replies.push(this.#buffer.subarray(0, newline));
        this.#buffer = this.#buffer.subarray(newline + 1);
        continue;
      }
      if (this.#buffer.length < this.mode) return;
      let length = 0;
      for (let i = 0; i < this.mode; i++) length = length * 256 + this.#buffer[i]!;
      if (this.#buffer.length < this.mode + length) return;
      this.replies.push(this.#buffer.subarray(this.mode, this.mode + length));
      this.#buffer = this.#buffer.subarray(this.mode + length);
    }
  }
}

/** Texts of replies, for readable assertions. */
export function texts(replies: Buffer[]): string[] {
  return replies.map((reply) => reply.toString());
}
