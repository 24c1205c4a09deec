import { SERVER_FULL_ALERT } from '../../src/server/admission.js';
import { once } from 'node:events';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { connectClient, frame, ReplyReader, startServer, texts, waitForEvent } from './helpers/fixture.js';

function rawConnect(port: number): Promise<Socket> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  onTestFinished(() => {
    socket.destroy();
  });
  return once(socket, 'connect').then(() => socket);
}

// The echo fast path and the general handler path, for behaviour both must share.
const ECHO_AND_MODULE_HANDLER = [
  ['echo', 'echo'],
  ['a module handler', (message: Buffer) => message],
] as const;

function header(length: number, size = 4): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.writeUIntBE(length, 0, size);
  return bytes;
}

describe('frame limits', () => {
  test('a header declaring more than --max-frame closes the connection with a protocol error', async () => {
    const { port, nextClose } = await startServer({ maxFrame: 1024 });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const closing = nextClose();
    socket.write(Buffer.concat([frame('honest'), header(0xffff_fff0), Buffer.from('tail')]));
    expect(texts(await reader.end())).toEqual(['honest']);
    const summary = await closing;
    expect(summary.reason).toBe('too-large');
    expect(summary.error?.message).toBe('peer declared a 4294967280-byte frame, above the 1024-byte maximum');
  });

  test.each(ECHO_AND_MODULE_HANDLER)(
    'a declared 512 MiB frame that never comes costs the %s server no memory',
    async (_name, handler) => {
      const declared = 512 * 1024 * 1024;
      const { port, nextClose } = await startServer({
        maxFrame: 1024 * 1024 * 1024,
        handler,
        idleTimeoutMs: 400,
      });
      const socket = await connectClient(port);
      const before = process.memoryUsage().rss;
      const closing = nextClose();
      socket.write(Buffer.concat([header(declared), Buffer.alloc(1000, 1)]));
      const summary = await closing;
      const grown = process.memoryUsage().rss - before;
      expect(summary.reason).toBe('idle-timeout');
      expect(grown).toBeLessThan(32 * 1024 * 1024);
    },
  );

  test('an unfinished frame trickling in a byte at a time is closed at the idle timeout', async () => {
    const { port, nextClose } = await startServer({ idleTimeoutMs: 400 });
    const socket = await connectClient(port);
    const started = Date.now();
    const closing = nextClose();
    socket.write(header(1024 * 1024));
    // A byte every 50 ms: activity on the socket, but never a complete message.
    const trickle = setInterval(() => socket.write(Buffer.from([0x61])), 50);
    onTestFinished(() => clearInterval(trickle));
    const summary = await closing;
    clearInterval(trickle);
    const elapsed = Date.now() - started;
    expect(summary.reason).toBe('idle-timeout');
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(2000);
    expect(summary.bytesIn).toBeGreaterThan(4);
  });

  test('an idle connection is closed at the idle timeout, an active one is not', async () => {
    const { port, nextClose } = await startServer({ idleTimeoutMs: 300 });
    const idle = await connectClient(port);
    const idlePort = (idle.address() as AddressInfo).port;
    const active = await connectClient(port);
    const activeReader = new ReplyReader(active);
    const closing = nextClose();
    const ping = setInterval(() => active.write(frame('ping')), 50);
    onTestFinished(() => clearInterval(ping));
    const summary = await closing;
    clearInterval(ping);
    expect(summary.reason).toBe('idle-timeout');
    expect(summary.remotePort).toBe(idlePort);
    expect(activeReader.ended).toBe(false);
  });
});

describe('misbehaving clients', () => {
  test('bytes that are not TLS are refused and logged, and the server goes on', async () => {
    const { server, port } = await startServer();
    const socket = await rawConnect(port);
    const failure = waitForEvent(server, 'tlsError');
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await failure).toMatchObject({
      kind: 'not-tls',
      remoteAddress: '127.0.0.1',
      remotePort: socket.localPort,
    });
    await once(socket, 'close');
    const client = await connectClient(port);
    const reader = new ReplyReader(client);
    client.write(frame('after the garbage'));
    expect(texts(await reader.until(1))).toEqual(['after the garbage']);
  });

  test('a client that never completes the handshake is dropped at the handshake timeout', async () => {
    const { server, port } = await startServer({ handshakeTimeoutMs: 300 });
    const started = Date.now();
    const socket = await rawConnect(port);
    const failure = waitForEvent(server, 'tlsError');
    await once(socket, 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await failure).toMatchObject({ kind: 'handshake-timeout' });
  });

  test('a client offering only TLS 1.2 is refused by --min-tls 1.3', async () => {
    const { server, port, pki } = await startServer({ minTls: '1.3' });
    const failure = waitForEvent(server, 'tlsError');
    const { connect } = await import('node:tls');
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: pki.ca.certPem,
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
    });
    onTestFinished(() => {
      socket.destroy();
    });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toMatch(/ERR_SSL/);
    expect(await failure).toMatchObject({ kind: 'unsupported-version' });
  });

  test.each([
    ['echo', 'echo'],
    ['a module handler', (message: Buffer) => [message, message]],
    ['exec:cat', 'exec:cat'],
  ] as const)(
    'a client that sends but never reads makes the %s server stop reading, then is closed when idle',
    async (_name, handler) => {
      const { server, port, nextClose } = await startServer({ idleTimeoutMs: 500, handler });
      const socket = await connectClient(port);
      // Never read: the replies pile up in the kernel buffers, the server must stop reading and not buffer.
      socket.pause();
      const closing = nextClose();
      const chunk = Buffer.concat(Array.from({ length: 64 }, () => frame(Buffer.alloc(1000, 0x62))));
      let written = 0;
      const before = process.memoryUsage().rss;
      // Write until our own side says stop, then keep offering more whenever it drains.
      const pump = () => {
        let more = true;
        while (more && !socket.destroyed) {
          more = socket.write(chunk);
          written += chunk.length;
        }
      };
      socket.on('drain', pump);
      socket.on('error', () => {});
      pump();
      const summary = await closing;
      expect(summary.reason).toBe('idle-timeout');
      // The server read only what fitted in the buffers before it paused: far less than a flood would be.
      expect(summary.bytesIn).toBeLessThan(16 * 1024 * 1024);
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
      expect(server.connections).toBe(0);
      // …while the client did try to send more than the server took.
      expect(written).toBeGreaterThan(summary.bytesIn);
    },
  );

  // Server-side sockets only: every pause call whose socket is not ours. Stopping reading would cost a round
  // trip to epoll per read of a busy connection, so it must wait for a real backlog, not for Node's 16 KiB
  // mark, which one read of pipelined frames already passes.
  const READING_CASES = [
    // Bursts of 48 frames of 1000 bytes, each burst's replies awaited before the next.
    ['a client that reads its replies as they come', 48, 1000, 40],
    // A 64 KiB payload and its header are 4 bytes more than the 64 KiB of queued replies that stop reading;
    // one at a time, nothing else is ever queued before it.
    ['a reply larger than the reply queue limit, alone,', 1, 64 * 1024, 20],
  ] as const;
  test.each(
    READING_CASES.flatMap(([what, perBurst, size, bursts]) =>
      ECHO_AND_MODULE_HANDLER.map(
        ([name, handler]) => [what, name, handler, perBurst, size, bursts] as const,
      ),
    ),
  )('%s never makes the %s server stop reading', async (_what, _name, handler, perBurst, size, bursts) => {
    const { port } = await startServer({ handler });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const pauses = vi.spyOn(TLSSocket.prototype, 'pause');
    onTestFinished(() => pauses.mockRestore());
    const burst = Buffer.concat(Array.from({ length: perBurst }, () => frame(Buffer.alloc(size, 0x61))));
    for (let sent = 1; sent <= bursts; sent++) {
      socket.write(burst);
      await reader.until(sent * perBurst);
    }
    expect(reader.replies.map((reply) => reply.length)).toEqual(Array(bursts * perBurst).fill(size));
    expect(pauses.mock.contexts.filter((context) => context !== socket)).toHaveLength(0);
  });

  test('a chunk of many small messages stops reaching the handler once its replies pass the bound, and the rest is answered when the client reads', async () => {
    const REPLY = 64 * 1024;
    const MESSAGES = 256; // 16 MiB of replies, far more than the kernel's socket buffers take
    let handled = 0;
    const { port } = await startServer({
      handler: () => {
        const reply = Buffer.alloc(REPLY, 0x61);
        reply.writeUInt32BE(handled++);
        return reply;
      },
    });
    const socket = await connectClient(port);
    // The server's socket pausing is the moment it stops handing messages over.
    const pause = TLSSocket.prototype.pause;
    const serverPaused = new Promise<void>((resolve) => {
      const pauses = vi.spyOn(TLSSocket.prototype, 'pause').mockImplementation(function (this: TLSSocket) {
        if (this !== socket) resolve();
        return pause.call(this);
      });
      onTestFinished(() => pauses.mockRestore());
    });
    socket.pause();
    // All the messages in one write: they arrive as one TLS record, in one chunk.
    socket.write(Buffer.alloc(MESSAGES * 4));
    await serverPaused;
    // The server stopped within what the socket buffers took, not after answering the whole chunk.
    expect(handled).toBeLessThan(MESSAGES);
    const reader = new ReplyReader(socket);
    socket.resume();
    const replies = await reader.until(MESSAGES, 20_000);
    expect(replies.map((reply) => reply.length)).toEqual(Array(MESSAGES).fill(REPLY));
    expect(replies.map((reply) => reply.readUInt32BE(0))).toEqual(
      Array.from({ length: MESSAGES }, (_, i) => i),
    );
  });

  test('connections past --max-connections are refused at once, not queued', async () => {
    const { server, port } = await startServer({ maxConnections: 2 });
    const first = await connectClient(port);
    await connectClient(port);
    const refused = waitForEvent(server, 'refused');
    const extra = await rawConnect(port);
    const extraPort = extra.localPort;
    const answer: Buffer[] = [];
    extra.on('data', (chunk: Buffer) => answer.push(chunk));
    await once(extra, 'close');
    expect(await refused).toMatchObject({ remoteAddress: '127.0.0.1', remotePort: extraPort });
    // Refused with a fatal internal_error alert before any handshake, not a silent close.
    expect(Buffer.concat(answer)).toEqual(SERVER_FULL_ALERT);
    // The first two are still served.
    const reader = new ReplyReader(first);
    first.write(frame('still fine'));
    expect(texts(await reader.until(1))).toEqual(['still fine']);
  });
});
