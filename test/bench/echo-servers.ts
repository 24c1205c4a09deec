import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { onTestFinished } from 'vitest';
import { generateSelfSigned, type GeneratedCertificate } from '../../src/certs/generate.js';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { encodeFrame } from '../../src/codec/encoder.js';

/** What a test echo server does with the `index`-th message of a connection: a reply, or nothing (drop it). */
export type ReplyRule = (payload: Buffer, index: number) => Buffer | undefined;

export interface TestServer {
  port: number;
  target: string;
}

let certificate: Promise<GeneratedCertificate> | undefined;

/** One self-signed certificate for 127.0.0.1, shared by the tests of a file (making keys takes time). */
export function testCertificate(): Promise<GeneratedCertificate> {
  certificate ??= generateSelfSigned({ hosts: ['127.0.0.1'] });
  return certificate;
}

/**
 * A {packet, 4} TLS echo server that applies `rule` to each message, so a test can make it answer wrongly
 * on purpose. Closed when the test finishes.
 */
export async function startRuleServer(rule: ReplyRule): Promise<TestServer> {
  const cert = await testCertificate();
  const sockets = new Set<TLSSocket>();
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new FrameDecoder(4);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (payload) => {
        const reply = rule(Buffer.from(payload), index++);
        if (reply !== undefined) socket.write(Buffer.concat(encodeFrame(reply, 4)));
      });
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { port, target: `127.0.0.1:${port}` };
}
