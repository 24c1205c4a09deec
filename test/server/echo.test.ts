import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { connectClient, frame, ReplyReader, startServer, texts, type Mode } from './helpers/fixture.js';

describe('echo server', () => {
  test.each<Mode>([1, 2, 4, 'line'])('echoes each message unchanged with packet %s', async (mode) => {
    const { port, nextClose } = await startServer({ packet: mode });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket, mode);
    const messages = ['hello', '', 'x'.repeat(200), 'bytes \u00e9\u00ff'];
    socket.write(Buffer.concat(messages.map((message) => frame(message, mode))));
    expect(texts(await reader.until(messages.length))).toEqual(messages);
    const closing = nextClose();
    socket.end();
    expect(texts(await reader.end())).toEqual(messages);
    const summary = await closing;
    expect(summary).toMatchObject({ reason: 'client-closed', framesIn: 4, framesOut: 4 });
    expect(summary.bytesOut).toBe(summary.bytesIn);
  });

  test('a frame split across writes, one byte at a time, comes back whole', async () => {
    const { port } = await startServer();
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const bytes = Buffer.concat([frame('first'), frame('second message')]);
    for (const byte of bytes) {
      socket.write(Buffer.from([byte]));
      // Force separate TLS records: wait for each write to leave before the next.
      await new Promise((resolve) => socket.write(Buffer.alloc(0), resolve));
    }
    expect(texts(await reader.until(2))).toEqual(['first', 'second message']);
    expect(reader.leftover.length).toBe(0);
  });

  test('1,000 frames pipelined on one connection come back in order and intact', async () => {
    const { port } = await startServer();
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const messages = Array.from({ length: 1000 }, (_, i) => `message ${i} ${'.'.repeat(i % 97)}`);
    // Uneven writes, so frames straddle writes and TLS records.
    const stream = Buffer.concat(messages.map((message) => frame(message)));
    for (let offset = 0; offset < stream.length; offset += 1777)
      socket.write(stream.subarray(offset, offset + 1777));
    expect(texts(await reader.until(1000))).toEqual(messages);
  });

  test('large frames (1 MiB) are echoed byte for byte', async () => {
    const { port } = await startServer();
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const payloads = [
      Buffer.alloc(1024 * 1024, 7),
      Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251)),
    ];
    socket.write(Buffer.concat(payloads.map((payload) => frame(payload))));
    const replies = await reader.until(2);
    expect(replies[0]!.equals(payloads[0]!)).toBe(true);
    expect(replies[1]!.equals(payloads[1]!)).toBe(true);
  });

  test('200 concurrent clients each get only their own replies', async () => {
    const { server, port } = await startServer();
    let accepted = 0;
    const allAccepted = new Promise<void>((resolve) =>
      server.on('connection', () => {
        accepted += 1;
        if (accepted === 200) resolve();
      }),
    );
    const clients = await Promise.all(Array.from({ length: 200 }, () => connectClient(port)));
    await allAccepted;
    expect(server.connections).toBe(200);
    const results = await Promise.all(
      clients.map(async (socket, index) => {
        const reader = new ReplyReader(socket);
        const mine = [`client ${index} a`, `client ${index} b`, `client ${index} c`];
        socket.write(Buffer.concat(mine.map((message) => frame(message))));
        return { mine, got: texts(await reader.until(3, 10_000)) };
      }),
    );
    for (const { mine, got } of results) expect(got).toEqual(mine);
    for (const socket of clients) socket.end();
  });

  test('line mode: a last line without its newline is still answered when the client ends', async () => {
    const { port } = await startServer({ packet: 'line' });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket, 'line');
    socket.end('one\ntwo');
    expect(texts(await reader.end())).toEqual(['one', 'two']);
  });

  test('a client that ends inside a frame is closed with a protocol error, after the frames before it', async () => {
    const { port, nextClose } = await startServer();
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const closing = nextClose();
    socket.end(Buffer.concat([frame('whole'), frame('cut short').subarray(0, 7)]));
    expect(texts(await reader.end())).toEqual(['whole']);
    const summary = await closing;
    expect(summary.reason).toBe('protocol-error');
    expect(summary.error?.message).toBe('stream ended inside a frame: 6 of 9 bytes missing');
  });

  test('the server keeps answering other clients after one disconnects abruptly', async () => {
    const { port, nextClose } = await startServer();
    const rude = await connectClient(port);
    const polite = await connectClient(port);
    const reader = new ReplyReader(polite);
    const closing = nextClose();
    rude.write(frame('half').subarray(0, 3));
    rude.destroy();
    await closing;
    polite.write(frame('still here'));
    expect(texts(await reader.until(1))).toEqual(['still here']);
    polite.end();
    await once(polite, 'close');
  });
});
