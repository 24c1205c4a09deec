import { once } from 'node:events';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import { connectSession, type ConnectOptions } from '../../src/client/connect-session.js';
import { defaultMaxFrame } from '../../src/codec/limits.js';
import { createServer } from '../../src/server/server.js';
import { createClientIo, type ClientIo } from './helpers/client-io.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

// `connect --reconnect` in-process, against a real tlsecho server stopped and started again on its port.

async function startEcho(pki: TestPki, port = 0, certificate = pki.server) {
  const server = createServer({
    host: '127.0.0.1',
    port,
    cert: certificate.certPem,
    key: certificate.keyPem,
  });
  onTestFinished(() => server.destroy());
  const { port: bound } = await server.listen();
  return { server, port: bound };
}

function options(pki: TestPki, port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    target: { host: '127.0.0.1', port },
    tls: { caFiles: [pki.caFile] },
    packet: 4,
    maxFrame: defaultMaxFrame(4),
    connectTimeoutMs: 5_000,
    input: 'lines',
    output: 'text',
    lingerMs: 2_000,
    verbose: false,
    color: false,
    reconnect: { maxAttempts: 50, initialDelayMs: 10 },
    ...extra,
  };
}

/** Resolves once stderr matches `pattern` (checked on each write), or rejects after `ms`. */
function waitForErrors(io: ClientIo, pattern: RegExp, ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(io.errors())) return;
      clearTimeout(timer);
      io.stderr.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => {
      io.stderr.off('data', check);
      reject(new Error(`stderr never matched ${pattern}: ${io.errors()}`));
    }, ms);
    io.stderr.on('data', check);
    check();
  });
}

describe('connect --reconnect on a terminal', () => {
  test('the session outlives a server restart: a notice, lines typed meanwhile are sent, history kept', async () => {
    const pki = await makeTestPki();
    const first = await startEcho(pki);
    const io = createClientIo({ tty: true });
    const session = connectSession(options(pki, first.port), io);
    io.stdinStream.write('one\r');
    await io.waitForOutput((out) => out.toString() === 'one\n');
    await first.server.destroy();
    await waitForErrors(
      io,
      /connection to 127\.0\.0\.1:\d+ lost; lines entered now are sent once it is back/,
    );
    await waitForErrors(
      io,
      /reconnecting to 127\.0\.0\.1:\d+ \(attempt 2 of 50 in \d+ms\): connection refused/,
    );
    io.stdinStream.write('two\r');
    await startEcho(pki, first.port);
    await io.waitForOutput((out) => out.toString() === 'one\ntwo\n');
    expect(io.errors()).toMatch(/reconnected to 127\.0\.0\.1:\d+; sending the 1 line entered meanwhile/);
    // Up-arrow recalls the line typed before the reconnection: the history survived it.
    io.stdinStream.write('\x1b[A\r');
    await io.waitForOutput((out) => out.toString() === 'one\ntwo\ntwo\n');
    io.stdinStream.end();
    await session;
  });

  test('Ctrl-D while an attempt waits on a silent server ends the attempt at once, not at --connect-timeout', async () => {
    const pki = await makeTestPki();
    const first = await startEcho(pki);
    const io = createClientIo({ tty: true });
    // A connect timeout longer than the test's: only ending the attempt lets the test finish.
    const session = connectSession(options(pki, first.port, { connectTimeoutMs: 60_000 }), io);
    io.stdinStream.write('one\r');
    await io.waitForOutput((out) => out.toString() === 'one\n');
    await first.server.destroy();
    // In its place, a server that takes the TCP connection and never answers the handshake.
    const accepted: Socket[] = [];
    const silent = createTcpServer((socket) => accepted.push(socket));
    onTestFinished(() => {
      for (const socket of accepted) socket.destroy();
      silent.close();
    });
    silent.listen(first.port, '127.0.0.1');
    await once(silent, 'listening');
    const attempt = await once(silent, 'connection');
    io.stdinStream.end();
    await session;
    // The attempt's socket is closed, not left open (keeping the process alive) for a minute.
    const socket = attempt[0] as Socket;
    if (!socket.closed) await once(socket, 'close');
  });
});

describe('connect --reconnect, stdin piped', () => {
  test('--no-wait: the session goes on after a restart, and the summary says nothing was sent again', async () => {
    const pki = await makeTestPki();
    const first = await startEcho(pki);
    const io = createClientIo();
    const session = connectSession(options(pki, first.port, { wait: false, lingerMs: 300 }), io);
    io.stdinStream.write('a\n');
    await io.waitForOutput((out) => out.toString() === 'a\n');
    await first.server.destroy();
    await waitForErrors(io, /\(attempt 2 of 50 in \d+ms\): connection refused/);
    await startEcho(pki, first.port);
    await waitForErrors(io, /reconnected to 127\.0\.0\.1:\d+\n/);
    io.stdinStream.end('b\n');
    await session;
    expect(io.output()).toBe('a\nb\n');
    expect(io.errors()).toMatch(
      /^reconnected 1 time; nothing sent again \(--no-wait: replies are not tracked\)$/m,
    );
  });

  test('a pinned certificate out of its dates is warned about once, not at every reconnection', async () => {
    const pki = await makeTestPki();
    const first = await startEcho(pki, 0, pki.expired);
    const io = createClientIo();
    const pinned = options(pki, first.port, { tls: { pin: pki.expired.fingerprint } });
    const session = connectSession(pinned, io);
    io.stdinStream.write('a\n');
    await io.waitForOutput((out) => out.toString() === 'a\n');
    await first.server.destroy();
    await waitForErrors(io, /\(attempt 2 of 50 in \d+ms\): connection refused/);
    await startEcho(pki, first.port, pki.expired);
    await waitForErrors(io, /reconnected to 127\.0\.0\.1:\d+\n/);
    io.stdinStream.end('b\n');
    await session;
    expect(io.output()).toBe('a\nb\n');
    expect(io.errors().match(/the pinned certificate of 127\.0\.0\.1:\d+ expired on /g)).toHaveLength(1);
  });

  test('a reply still missing when the connection drops is asked for again, and printed once', async () => {
    const pki = await makeTestPki();
    // Reads the first message and never answers it, as a server that dies with work in hand.
    let read!: () => void;
    const messageRead = new Promise<void>((resolve) => (read = resolve));
    const silent = createServer({
      host: '127.0.0.1',
      port: 0,
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      handler: () => {
        read();
        return undefined;
      },
    });
    onTestFinished(() => silent.destroy());
    const { port } = await silent.listen();
    const io = createClientIo();
    const session = connectSession(options(pki, port), io);
    io.stdinStream.write('lost\n');
    await messageRead;
    await silent.destroy();
    await waitForErrors(io, /\(attempt 2 of 50 in \d+ms\): connection refused/);
    await startEcho(pki, port);
    io.stdinStream.end('after\n');
    await session;
    expect(io.output()).toBe('lost\nafter\n');
    expect(io.errors()).toMatch(/^reconnected 1 time; 1 message sent again$/m);
  });
});
