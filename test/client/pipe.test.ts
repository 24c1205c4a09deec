import { isUtf8 } from 'node:buffer';
import { describe, expect, test } from 'vitest';
import type { InputMode } from '../../src/client/input.js';
import type { OutputMode } from '../../src/client/output.js';
import { connectSession, type ConnectOptions } from '../../src/client/connect-session.js';
import { defaultMaxFrame } from '../../src/codec/limits.js';
import { ProtocolError, TimeoutError } from '../../src/errors.js';
import { ExitCode } from '../../src/exit-codes.js';
import { createClientIo, type ClientIo } from './helpers/client-io.js';
import { frame, startTestServer, type TestPacket, type TestServerOptions } from './helpers/framed-server.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

// `connect` with stdin not a terminal, run in-process against the test server (whose framing code is its own).

function options(pki: TestPki, port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  const packet = extra.packet ?? 4;
  return {
    target: { host: '127.0.0.1', port },
    tls: { caFiles: [pki.caFile] },
    packet,
    maxFrame: defaultMaxFrame(packet),
    connectTimeoutMs: 5_000,
    input: 'lines',
    output: 'text',
    lingerMs: 2_000,
    verbose: false,
    color: false,
    ...extra,
  };
}

async function serve(pki: TestPki, extra: Partial<TestServerOptions> = {}) {
  return startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, ...extra });
}

// Messages each input mode can carry (a line cannot hold a newline, a NUL-separated message cannot hold a
// NUL), with empty messages, NULs and invalid UTF-8 wherever the mode allows them.
const MESSAGES: Record<InputMode, Buffer[]> = {
  lines: [
    Buffer.from('plain'),
    Buffer.alloc(0),
    Buffer.from('nul\0byte'),
    Buffer.from([0xff, 0xc3, 0x28]),
    Buffer.from('ünï'),
  ],
  null: [Buffer.from('multi\nline'), Buffer.alloc(0), Buffer.from([0xfe, 0x0a, 0xff])],
  whole: [Buffer.from('all\nof\0it\xff', 'latin1')],
  raw: [Buffer.from('framed'), Buffer.alloc(0), Buffer.from([0x00, 0x0a, 0xff])],
};

function encodeInput(mode: InputMode, packet: TestPacket, messages: Buffer[]): Buffer {
  switch (mode) {
    case 'lines':
      return Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')]));
    case 'null':
      return Buffer.concat(messages.flatMap((m) => [m, Buffer.from([0])]));
    case 'whole':
      return Buffer.concat(messages);
    case 'raw':
      return Buffer.concat(messages.map((m) => frame(packet, m)));
  }
}

// Written out here rather than borrowed from src/client/output.ts, so that the printing is checked too.
function expectedOutput(mode: OutputMode, packet: TestPacket, messages: Buffer[]): Buffer {
  const line = (text: string) => Buffer.from(`${text}\n`);
  return Buffer.concat(
    messages.map((m) => {
      switch (mode) {
        case 'text':
          return Buffer.concat([m, Buffer.from('\n')]);
        case 'hex':
          return line(m.toString('hex'));
        case 'base64':
          return line(m.toString('base64'));
        case 'json':
          return line(
            JSON.stringify(
              isUtf8(m)
                ? { length: m.length, text: m.toString() }
                : { length: m.length, base64: m.toString('base64') },
            ),
          );
        case 'raw':
          return frame(packet, m);
      }
    }),
  );
}

async function runPipe(io: ClientIo, opts: ConnectOptions, input: Buffer | undefined): Promise<void> {
  const session = connectSession(opts, io);
  if (input !== undefined) io.stdinStream.end(input);
  await session;
}

const INPUTS: InputMode[] = ['lines', 'null', 'whole', 'raw'];
const OUTPUTS: OutputMode[] = ['text', 'hex', 'base64', 'json', 'raw'];

describe('connect, piped: every input mode × output mode', () => {
  test.each(INPUTS.flatMap((input) => OUTPUTS.map((output) => [input, output] as const)))(
    '--%s input, --output %s',
    async (input, output) => {
      const pki = await makeTestPki();
      const server = await serve(pki);
      const io = createClientIo();
      const messages = MESSAGES[input];
      await runPipe(io, options(pki, server.port, { input, output }), encodeInput(input, 4, messages));
      expect(io.stdoutBytes()).toEqual(expectedOutput(output, 4, messages));
      expect((await server.nextPeer()).received).toEqual(messages);
      expect(io.errors()).toBe('');
    },
  );
});

describe('connect, piped: framings', () => {
  test.each<TestPacket>([1, 2, 4, 'line'])('{packet, %s}: lines in, text and raw out', async (packet) => {
    const pki = await makeTestPki();
    const server = await serve(pki, { packet });
    const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('nul\0'), Buffer.from([0xff, 0xfe])];
    const input = encodeInput('lines', packet, messages);

    const textIo = createClientIo();
    await runPipe(textIo, options(pki, server.port, { packet }), input);
    expect(textIo.stdoutBytes()).toEqual(expectedOutput('text', packet, messages));

    const rawIo = createClientIo();
    await runPipe(rawIo, options(pki, server.port, { packet, output: 'raw' }), input);
    expect(rawIo.stdoutBytes()).toEqual(expectedOutput('raw', packet, messages));
  });

  test.each<TestPacket>([1, 2])(
    '{packet, %s}: raw frames in, raw frames out, byte for byte',
    async (packet) => {
      const pki = await makeTestPki();
      const server = await serve(pki, { packet });
      const messages = [Buffer.alloc(255, 0x41), Buffer.alloc(0), Buffer.from([0, 0, 0])];
      const io = createClientIo();
      await runPipe(
        io,
        options(pki, server.port, { packet, input: 'raw', output: 'raw' }),
        encodeInput('raw', packet, messages),
      );
      expect(io.stdoutBytes()).toEqual(encodeInput('raw', packet, messages));
    },
  );

  test('a line too long for {packet, 1} is refused on stderr, the next line still goes, and the session fails at its end', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { packet: 1 });
    const io = createClientIo();
    const session = connectSession(options(pki, server.port, { packet: 1 }), io);
    io.stdinStream.write('short\n');
    await io.waitForOutput((out) => out.toString() === 'short\n');
    // As Erlang's ssl:send refusing packet_to_large: nothing of it is written and the connection goes on.
    io.stdinStream.end(`${'x'.repeat(300)}\nafter\n`);
    const error = await session.catch((e: unknown) => e);
    expect(io.output()).toBe('short\nafter\n');
    expect(io.errors()).toBe(
      'tlsecho: message 2 of stdin is larger than the maximum frame of 255 bytes; not sent\n',
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('ERR_FRAME_TOO_LARGE');
    expect((error as Error).message).toBe(
      '1 message was not sent; the first: message 2 of stdin is larger than the maximum frame of 255 bytes',
    );
  });
});

describe('connect, piped: session', () => {
  test('prints replies while input is still being sent', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    const session = connectSession(options(pki, server.port), io);
    io.stdinStream.write('one\n');
    // The first reply is printed while stdin is still open.
    await io.waitForOutput((out) => out.toString() === 'one\n');
    io.stdinStream.write('two\n');
    await io.waitForOutput((out) => out.toString() === 'one\ntwo\n');
    io.stdinStream.end('three\n');
    await session;
    expect(io.output()).toBe('one\ntwo\nthree\n');
  });

  test('ends normally when the server closes, even with stdin still open', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        peer.reply(payload);
        peer.socket.end();
      },
    });
    const io = createClientIo();
    const session = connectSession(options(pki, server.port, { verbose: true }), io);
    io.stdinStream.write('only\n');
    await session;
    expect(io.output()).toBe('only\n');
    expect(io.errors()).toMatch(/connection to 127\.0\.0\.1:\d+ closed by the server\n$/);
    expect(io.stdinStream.destroyed).toBe(true);
  });

  test('after stdin ends, waits --linger for replies that never come, then fails naming how many are missing', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { onFrame: () => {} });
    const io = createClientIo();
    const started = Date.now();
    await expect(
      runPipe(io, options(pki, server.port, { lingerMs: 300 }), Buffer.from('unanswered\n')),
    ).rejects.toMatchObject({
      exitCode: ExitCode.TIMEOUT,
      message: `1 of 1 reply missing: nothing more arrived from 127.0.0.1:${server.port} within 300ms after the input ended (--linger)`,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(io.output()).toBe('');
    expect((await server.nextPeer()).received).toEqual([Buffer.from('unanswered')]);
  });

  test('with wait: false (--no-wait), replies that never come end the session normally after --linger', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { onFrame: () => {} });
    const io = createClientIo();
    const started = Date.now();
    await runPipe(io, options(pki, server.port, { lingerMs: 300, wait: false }), Buffer.from('unanswered\n'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(io.output()).toBe('');
  });

  test('the linger restarts with each reply, so a slow but steady server is heard to the end', async () => {
    const pki = await makeTestPki();
    // Replies one frame every 100 ms: the last arrives 600 ms after the input ended, past a 500 ms linger
    // counted once, but never 500 ms after the reply before it.
    let queued = 0;
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        queued += 1;
        setTimeout(() => peer.reply(payload), 100 * queued);
      },
    });
    const io = createClientIo();
    await runPipe(io, options(pki, server.port, { lingerMs: 500 }), Buffer.from('1\n2\n3\n4\n5\n6\n'));
    expect(io.output()).toBe('1\n2\n3\n4\n5\n6\n');
  });

  test('prints every complete frame before failing on a lying header (exit 7)', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      onConnection: (peer) =>
        peer.socket.write(
          Buffer.concat([
            frame(4, 'good'),
            frame(4, 'also good'),
            Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x61]),
          ]),
        ),
    });
    const io = createClientIo();
    // stdin stays open: the session ends because of the server's bytes alone.
    const error = await connectSession(options(pki, server.port), io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).exitCode).toBe(7);
    expect(io.output()).toBe('good\nalso good\n');
  });

  test('--timeout bounds the whole session', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { onFrame: () => {} });
    const io = createClientIo();
    const session = connectSession(options(pki, server.port, { timeoutMs: 200 }), io);
    io.stdinStream.write('never answered\n');
    const error = await session.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe(
      `session with 127.0.0.1:${server.port} timed out after 200ms (--timeout)`,
    );
  });
});
