import { spawnSync } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import { PassThrough } from 'node:stream';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { makeTempDir } from '../helpers/tmpdir.js';
import { createLogger } from '../../src/log/logger.js';
import { logServerEvents } from '../../src/server/server-log.js';
import { connectClient, frame, ReplyReader, startServer, testPki, texts } from './helpers/fixture.js';
import { serveInProcess } from './helpers/serve-in-process.js';

// A handler that takes its time, so a message is still in flight when the signal comes.
const SLOW_HANDLER = `export default async (message) => {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return 'slow ' + message;
};
`;

async function dirWithServerCert(extra: Record<string, string> = {}): Promise<string> {
  const pki = await testPki();
  const dir = await makeTempDir();
  await mkdir(join(dir, 'certs'));
  await writeFile(join(dir, 'certs', 'server.crt'), pki.server.certPem);
  await writeFile(join(dir, 'certs', 'server.key'), pki.server.keyPem, { mode: 0o600 });
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

describe('serve', () => {
  test('uses certs/server.crt and server.key from the working directory when both exist', async () => {
    const dir = await dirWithServerCert();
    const pki = await testPki();
    const run = await serveInProcess({}, dir);
    expect(run.io.errors()).toContain(`certificate certs/server.crt (${pki.server.fingerprint})`);
    const socket = await connectClient(run.port);
    expect(socket.authorized).toBe(true);
  });

  test('SIGTERM lets an in-flight exchange finish, then closes and returns', async () => {
    const dir = await dirWithServerCert({ 'slow.mjs': SLOW_HANDLER });
    const run = await serveInProcess({ handler: './slow.mjs', logLevel: 'verbose' }, dir);
    const socket = await connectClient(run.port);
    const reader = new ReplyReader(socket);
    socket.write(frame('request'));
    await run.waitForLog(/\[#1\] received 7 B: "request"/);
    run.signal('SIGTERM');
    expect(texts(await reader.end())).toEqual(['slow request']);
    await run.done;
    const log = run.io.errors();
    expect(log).toMatch(/SIGTERM: shutting down, letting 1 open connection finish \(up to 10s; signal again/);
    expect(log).toMatch(
      /\[#1\] closed 127\.0\.0\.1:\d+ after [\d.]+m?s: shutdown; 1 frame in \(11 B\), 1 out \(16 B\)/,
    );
    expect(log).toMatch(/stopped after 1 connection/);
  });

  test('by the time the shutdown line is written, new connections are refused', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({}, dir);
    // Probe the port from another process the moment the line is written, before serve goes on: a
    // supervisor reading the log could connect that soon. A listener still open would accept the
    // connection into its backlog and reset it a moment later, instead of refusing it.
    let probe: ReturnType<typeof spawnSync> | undefined;
    const write = run.io.stderr.write.bind(run.io.stderr) as (chunk: string) => boolean;
    run.io.stderr.write = ((chunk: string) => {
      if (String(chunk).includes('shutting down')) {
        probe = spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${run.port}`], { encoding: 'utf8' });
      }
      return write(chunk);
    }) as typeof run.io.stderr.write;
    run.signal('SIGTERM');
    await run.done;
    expect(probe?.status).toBe(1);
    expect(probe?.stderr).toMatch(/Connection refused/);
  });

  test('lines about connections share writes while they come fast, and none is lost at exit', async () => {
    const dir = await dirWithServerCert();
    let closed = 0;
    let allClosed!: () => void;
    const whenAllClosed = new Promise<void>((resolve) => (allClosed = resolve));
    const run = await serveInProcess(
      {
        // Long enough that only the exit can write what waits.
        logCoalesceMs: 60_000,
        onServer: (server) => server.on('disconnect', () => ++closed === 10 && allClosed()),
      },
      dir,
    );
    let writes = 0;
    run.io.stderr.on('data', () => (writes += 1));
    const exchanges = Array.from({ length: 10 }, async (_, index) => {
      const socket = await connectClient(run.port);
      const reader = new ReplyReader(socket);
      socket.end(frame(`message ${index}`));
      return texts(await reader.end());
    });
    expect(await Promise.all(exchanges)).toEqual(Array.from({ length: 10 }, (_, i) => [`message ${i}`]));
    await whenAllClosed;
    const closedLines = (log: string) => log.match(/^\[#\d+\] closed .*: client closed; 1 frame in/gm) ?? [];
    expect(closedLines(run.io.errors()).length).toBeLessThan(10);
    // The process ends (an uncaught error, say) while lines wait: they are written then.
    run.io.signals.emit('exit');
    await new Promise((resolve) => setImmediate(resolve));
    const log = run.io.errors();
    expect(log.match(/^\[#\d+\] accepted /gm)).toHaveLength(10);
    expect(closedLines(log)).toHaveLength(10);
    // 20 lines, in the first write and the one at exit.
    expect(writes).toBe(2);
  });

  test('the default window writes waiting lines within a moment', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({}, dir);
    for (let index = 0; index < 3; index++) {
      const socket = await connectClient(run.port);
      const reader = new ReplyReader(socket);
      socket.end(frame('hello'));
      await reader.end();
    }
    const started = Date.now();
    await run.waitForLog(/^\[#3\] closed /, 1000);
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('at the drain timeout open connections are closed with their queued replies intact', async () => {
    const dir = await dirWithServerCert({ 'slow.mjs': SLOW_HANDLER });
    const run = await serveInProcess(
      { handler: './slow.mjs', drainTimeoutMs: 100, logLevel: 'verbose' },
      dir,
    );
    const socket = await connectClient(run.port);
    const reader = new ReplyReader(socket);
    socket.write(Buffer.concat([frame('a'), frame('b')]));
    await run.waitForLog(/received 1 B: "a"/);
    run.signal('SIGINT');
    await run.done;
    // Whatever was answered arrives whole; nothing is cut in half.
    const replies = texts(await reader.end());
    expect(replies.every((reply) => /^slow [ab]$/.test(reply))).toBe(true);
    expect(reader.leftover.length).toBe(0);
  });

  test('a second signal closes everything at once', async () => {
    const dir = await dirWithServerCert({ 'slow.mjs': SLOW_HANDLER });
    const run = await serveInProcess({ handler: './slow.mjs', logLevel: 'verbose' }, dir);
    const socket = await connectClient(run.port);
    socket.on('error', () => {});
    socket.write(frame('never answered'));
    await run.waitForLog(/received/);
    const started = Date.now();
    run.signal('SIGINT');
    run.signal('SIGINT');
    await run.done;
    expect(Date.now() - started).toBeLessThan(250);
    expect(run.io.errors()).toMatch(/SIGINT again: closing 1 connections now/);
  });

  test('--max-accepts 2 returns after two connections have closed', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({ maxAccepts: 2 }, dir);
    for (const message of ['first', 'second']) {
      const socket = await connectClient(run.port);
      const reader = new ReplyReader(socket);
      socket.end(frame(message));
      expect(texts(await reader.end())).toEqual([message]);
    }
    await run.done;
    expect(run.io.errors()).toMatch(/stopped after 2 connections/);
  });

  test('--json writes every log line as JSON with an event field', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({ json: true, maxAccepts: 1 }, dir);
    const socket = await connectClient(run.port);
    const reader = new ReplyReader(socket);
    socket.end(frame('json'));
    await reader.end();
    await run.done;
    const lines = run.io
      .errors()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.event)).toEqual([
      'certificate',
      'listening',
      'accepted',
      'closed',
      'stopped',
    ]);
    expect(lines[1]).toMatchObject({
      level: 'info',
      address: '127.0.0.1',
      port: run.port,
      packet: 4,
      handler: 'echo',
    });
    expect(lines[3]).toMatchObject({
      reason: 'client-closed',
      framesIn: 1,
      framesOut: 1,
      bytesIn: 8,
      bytesOut: 8,
    });
  });

  test('--verbose shows each message as a short escaped preview', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({ logLevel: 'verbose' }, dir);
    const socket = await connectClient(run.port);
    const reader = new ReplyReader(socket);
    socket.write(frame(Buffer.concat([Buffer.from('line\n\x1b[31m'), Buffer.alloc(100, 0x41)])));
    await reader.until(1);
    const line = await run.waitForLog(/received/);
    expect(line).toBe(`[#1] received 110 B: "line\\n\\x1b[31m${'A'.repeat(54)}"… (+46 bytes)`);
  });

  test('each misbehaving client gets one log line saying what it did', async () => {
    const dir = await dirWithServerCert();
    const run = await serveInProcess({ handshakeTimeoutMs: 300, idleTimeoutMs: 400 }, dir);
    // A header declaring more than the 8 MiB default.
    const liar = await connectClient(run.port);
    liar.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    // Not TLS at all.
    const plain = connectTcp({ host: '127.0.0.1', port: run.port });
    plain.on('error', () => {});
    plain.write('hello?\r\n');
    // Connects and says nothing.
    const silent = connectTcp({ host: '127.0.0.1', port: run.port });
    silent.on('error', () => {});
    // Completes the handshake and then says nothing.
    await connectClient(run.port);
    const tooLarge = await run.waitForLog(/frame too large/);
    expect(tooLarge).toMatch(
      /^tlsecho: warning: \[#1\] closed 127\.0\.0\.1:\d+ after \d+ms: frame too large: peer declared a 4294967295-byte frame, above the 8388608-byte maximum; 0 frames in \(7 B\), 0 out \(0 B\)$/,
    );
    expect(await run.waitForLog(/not TLS/)).toMatch(
      /^tlsecho: warning: handshake with 127\.0\.0\.1:\d+ failed: the client sent something that is not TLS$/,
    );
    expect(await run.waitForLog(/in time/)).toMatch(
      /^tlsecho: warning: handshake with 127\.0\.0\.1:\d+ failed: the client did not complete the TLS handshake in time$/,
    );
    expect(await run.waitForLog(/idle timeout/)).toMatch(
      /^\[#2\] closed 127\.0\.0\.1:\d+ after [\d.]+m?s: idle timeout; 0 frames in \(0 B\), 0 out \(0 B\)$/,
    );
    plain.destroy();
    silent.destroy();
  });

  test('--quiet logs errors only: a failing handler, not the connections that went well', async () => {
    const stderr = new PassThrough();
    const lines: string[] = [];
    stderr.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const { server, port, nextClose } = await startServer({
      handler: (message: Buffer) => {
        if (message.toString() === 'fail') throw new Error('nope');
        return message;
      },
    });
    logServerEvents(server, createLogger(stderr, { level: 'error' }), { maxConnections: 1000 });
    for (const message of ['fine', 'fail']) {
      const socket = await connectClient(port);
      const closing = nextClose();
      socket.end(frame(message));
      await closing;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tlsecho: \[#2\] closed 127\.0\.0\.1:\d+ after \d+ms: handler failed: nope; 1 frame in \(8 B\), 0 out \(0 B\)$/,
    );
  });
});
