import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { send, type SendOptions } from '../../src/client/send.js';
import { defaultMaxFrame } from '../../src/codec/limits.js';
import { ConnectionError, MismatchError, ProtocolError, TimeoutError, UsageError } from '../../src/errors.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { createClientIo } from './helpers/client-io.js';
import { frame, startTestServer, type TestServerOptions } from './helpers/framed-server.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

function options(pki: TestPki, port: number, extra: Partial<SendOptions> = {}): SendOptions {
  const packet = extra.packet ?? 4;
  return {
    target: { host: '127.0.0.1', port },
    tls: { caFiles: [pki.caFile] },
    packet,
    maxFrame: defaultMaxFrame(packet),
    connectTimeoutMs: 5_000,
    messages: [],
    input: 'lines',
    output: 'text',
    count: 1,
    wait: true,
    expect: [],
    expectEcho: false,
    timeoutMs: 5_000,
    json: false,
    verbose: false,
    color: false,
    ...extra,
  };
}

async function serve(pki: TestPki, extra: Partial<TestServerOptions> = {}) {
  return startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, ...extra });
}

describe('send', () => {
  test('sends each message as a frame and prints one reply per frame', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    const result = await send(options(pki, server.port, { messages: ['hi', '', 'there'] }), io);
    expect(io.output()).toBe('hi\n\nthere\n');
    expect(io.errors()).toBe('');
    expect(result).toMatchObject({ ok: true, sent: 3, received: 3 });
    expect((await server.nextPeer()).received.map(String)).toEqual(['hi', '', 'there']);
  });

  test('--count repeats the messages in order', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    await send(options(pki, server.port, { messages: ['a', 'b'], count: 3 }), io);
    expect(io.output()).toBe('a\nb\na\nb\na\nb\n');
  });

  test('reads messages from stdin when none are given, in the chosen input mode', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    io.stdinStream.end('x\0y\n\0');
    await send(options(pki, server.port, { input: 'null', output: 'json' }), io);
    expect(io.output()).toBe('{"length":1,"text":"x"}\n{"length":2,"text":"y\\n"}\n');
  });

  test('reads messages from --file relative to the working directory', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const dir = await makeTempDir();
    await writeFile(join(dir, 'messages.txt'), 'one\ntwo\n');
    const io = { ...createClientIo(), cwd: dir };
    const capture = createClientIo();
    await send(options(pki, server.port, { file: 'messages.txt' }), { ...io, stdout: capture.stdout });
    expect(capture.output()).toBe('one\ntwo\n');
  });

  test('an unreadable --file is a file error naming it', async () => {
    const pki = await makeTestPki();
    const dir = await makeTempDir();
    const io = { ...createClientIo(), cwd: dir };
    await expect(send(options(pki, 1, { file: 'missing.txt' }), io)).rejects.toThrow(
      'cannot read missing.txt: no such file',
    );
  });

  test('--replies waits for another number of replies than frames sent', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        peer.reply(payload);
        peer.reply('and one more');
      },
    });
    const io = createClientIo();
    const result = await send(options(pki, server.port, { messages: ['q'], replies: 2 }), io);
    expect(io.output()).toBe('q\nand one more\n');
    expect(result.received).toBe(2);
  });

  test('--no-wait sends, closes and prints nothing', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { onFrame: () => {} });
    const io = createClientIo();
    const result = await send(options(pki, server.port, { messages: ['fire', 'forget'], wait: false }), io);
    expect(io.output()).toBe('');
    expect(result).toMatchObject({ ok: true, sent: 2, received: 0 });
    const peer = await server.nextPeer();
    await new Promise<void>((resolve) =>
      peer.socket.closed ? resolve() : peer.socket.once('close', resolve),
    );
    expect(peer.received.map(String)).toEqual(['fire', 'forget']);
  });

  test('--expect passes when the replies are exactly those, in order', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    const result = await send(options(pki, server.port, { messages: ['a', 'b'], expect: ['a', 'b'] }), io);
    expect(result.ok).toBe(true);
  });

  test('--expect fails on the first differing reply with a diff-like message, after printing it', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      onFrame: (payload, peer) => peer.reply(payload.toString().toUpperCase()),
    });
    const io = createClientIo();
    const error = await send(options(pki, server.port, { messages: ['ok'], expect: ['ok'] }), io).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MismatchError);
    expect((error as MismatchError).exitCode).toBe(8);
    expect((error as Error).message).toBe(
      'reply 1 differs from --expect: expected "ok" (2 bytes) but got "OK" (2 bytes) (first difference at byte 0)',
    );
    expect(io.output()).toBe('OK\n');
  });

  test('--expect-echo checks every reply against the message it answers, across --count rounds', async () => {
    const pki = await makeTestPki();
    let seen = 0;
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        seen += 1;
        peer.reply(seen === 3 ? Buffer.from([0xff]) : payload);
      },
    });
    const io = createClientIo();
    const error = await send(
      options(pki, server.port, { messages: ['m1', 'm2'], count: 2, expectEcho: true }),
      io,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MismatchError);
    expect((error as Error).message).toBe(
      'reply 3 is not an echo of message 3: expected "m1" (2 bytes) but got "\\xff" (1 byte) (first difference at byte 0)',
    );
  });

  test('more --expect values than expected replies is a usage error', async () => {
    const pki = await makeTestPki();
    const io = createClientIo();
    await expect(send(options(pki, 1, { messages: ['a'], expect: ['a', 'b'] }), io)).rejects.toThrow(
      UsageError,
    );
  });

  test('--timeout bounds the whole exchange and says how far it got', async () => {
    const pki = await makeTestPki();
    let answered = false;
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        if (!answered) peer.reply(payload);
        answered = true;
      },
    });
    const io = createClientIo();
    const error = await send(options(pki, server.port, { messages: ['a', 'b'], timeoutMs: 300 }), io).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe(
      `timed out after 300ms waiting for replies from 127.0.0.1:${server.port}: got 1 of 2`,
    );
    expect(io.output()).toBe('a\n');
  });

  test('a server that closes before answering everything is a connection error', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      onFrame: (payload, peer) => {
        peer.reply(payload);
        peer.socket.end();
      },
    });
    const io = createClientIo();
    const error = await send(options(pki, server.port, { messages: ['a', 'b', 'c'] }), io).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toBe(
      `127.0.0.1:${server.port} closed the connection after 1 of 3 replies`,
    );
  });

  test('prints every complete frame, then fails with a protocol error on garbage', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, {
      packet: 2,
      onFrame: (payload, peer) => {
        peer.socket.write(
          Buffer.concat([frame(2, payload), frame(2, 'extra'), frame(2, 'cut').subarray(0, 3)]),
        );
        peer.socket.end();
      },
    });
    const io = createClientIo();
    const error = await send(options(pki, server.port, { packet: 2, messages: ['x'], replies: 3 }), io).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('ERR_FRAME_TRUNCATED');
    expect(io.output()).toBe('x\nextra\n');
  });

  test('a message too large for the framing is refused before connecting', async () => {
    const pki = await makeTestPki();
    const io = createClientIo();
    await expect(send(options(pki, 1, { packet: 1, messages: ['x'.repeat(256)] }), io)).rejects.toThrow(
      'cannot send a 256-byte message: the maximum frame is 255 bytes',
    );
  });

  test('--json prints one result object with TLS details, replies and timings', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki);
    const io = createClientIo();
    await send(options(pki, server.port, { messages: ['text', '\u00ff'], json: true }), io);
    const lines = io.output().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({
      target: `127.0.0.1:${server.port}`,
      ok: true,
      tls: { protocol: 'TLSv1.3', fingerprint: pki.server.fingerprint, verified: true },
      replies: [
        { length: 4, text: 'text' },
        { length: 2, text: '\u00ff' },
      ],
      sent: 2,
      received: 2,
    });
    expect(typeof result.tls.cipher).toBe('string');
    for (const key of ['connectMs', 'handshakeMs', 'firstReplyMs', 'totalMs']) {
      expect(result.timings[key]).toBeGreaterThanOrEqual(0);
    }
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.handshakeMs);
  });

  test('--json still prints a result, with ok false and the error, when the check fails', async () => {
    const pki = await makeTestPki();
    const server = await serve(pki, { onFrame: (_payload, peer) => peer.reply(Buffer.from([0x00, 0xff])) });
    const io = createClientIo();
    await expect(
      send(options(pki, server.port, { messages: ['a'], expectEcho: true, json: true }), io),
    ).rejects.toThrow(MismatchError);
    expect(JSON.parse(io.output())).toMatchObject({
      ok: false,
      replies: [{ length: 2, base64: 'AP8=' }],
      error: { code: 'ERR_MISMATCH' },
    });
  });
});
