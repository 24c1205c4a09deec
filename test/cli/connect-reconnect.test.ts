import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, onTestFinished, test } from 'vitest';
import { createServer, type ServerOptions } from '../../src/server/server.js';
import type { MessageHandler } from '../../src/server/handlers/types.js';
import { collect, spawnCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { makeTestPki, type CertFiles } from '../client/helpers/pki.js';

// `connect --reconnect` with stdin piped, as a child process, against a real tlsecho server run here so
// that the test can stop it and start it again on the same port (or with another certificate).

async function startServer(cert: CertFiles, port: number, extra: ServerOptions = {}) {
  const server = createServer({ host: '127.0.0.1', port, cert: cert.certPem, key: cert.keyPem, ...extra });
  onTestFinished(() => server.destroy());
  const address = await server.listen();
  return { server, port: address.port };
}

/** Resolves when `read()` satisfies `predicate`, checked on each chunk of `stream`; rejects after `ms`. */
function waitFor(
  stream: NodeJS.ReadableStream,
  read: () => string,
  predicate: (text: string) => boolean,
  what: string,
  ms = 10_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate(read())) return;
      clearTimeout(timer);
      stream.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => {
      stream.off('data', check);
      reject(new Error(`timed out waiting for ${what}; have: ${read().slice(-500)}`));
    }, ms);
    stream.on('data', check);
    check();
  });
}

function watch(child: ChildProcess) {
  let stdout = '';
  let stderr = '';
  // Chunks stay Buffers (collect() concatenates them too); the text here is ASCII, so never split mid-character.
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('latin1')));
  return { stdout: () => stdout, stderr: () => stderr };
}

/** `tlsecho connect 127.0.0.1:PORT ARGS…` with stdin held open, once it has printed its reply to `one`. */
async function connectedAndAnswered(port: number, args: string[]) {
  const child = spawnCli(['connect', `127.0.0.1:${port}`, ...args]);
  const seen = watch(child);
  const result = collect(child, { keepStdinOpen: true });
  child.stdin!.write('one\n');
  await waitFor(child.stdout!, seen.stdout, (text) => text === 'one\n', 'the first reply');
  return { child, seen, result };
}

const countLines = (text: string) => text.split('\n').length - 1;
const ATTEMPT = /^reconnecting to 127\.0\.0\.1:\d+ \(attempt (\d+)(?: of (\d+))? in \d+ms\): (.*)$/;
const attemptLines = (stderr: string) => stderr.split('\n').filter((line) => ATTEMPT.test(line));

describe('tlsecho connect --reconnect, stdin piped', () => {
  test('a server stopped and started again mid-pipe: 10,000 lines, each with exactly one reply, in order, exit 0', async () => {
    const pki = await makeTestPki();
    // The first server answers the first 1,000 messages and then reads without answering, as a server that
    // dies with work in hand: those messages must be sent again, and answered once, by the next one.
    let received = 0;
    const answerFirst: MessageHandler = (message) => (++received <= 1000 ? message : undefined);
    const first = await startServer(pki.server, 0, { handler: answerFirst });
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i + 1}`);
    const input = `${lines.join('\n')}\n`;
    const child = spawnCli([
      'connect',
      `127.0.0.1:${first.port}`,
      '--ca',
      pki.caFile,
      '--reconnect',
      '--reconnect-delay',
      '20ms',
      '--reconnect-max',
      '20',
    ]);
    const seen = watch(child);
    const result = collect(child, { input });

    await waitFor(child.stdout!, seen.stdout, (text) => countLines(text) >= 1000, '1000 replies');
    // Stop once messages beyond those answered are in the server's hands.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server received only ${received}`)), 10_000);
      const poll = setInterval(() => {
        if (received < 3000) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }, 1);
    });
    await first.server.destroy();
    // Back up once an attempt has been refused, on the same port, with the ordinary echo.
    await waitFor(child.stderr!, seen.stderr, (text) => /attempt 2 of 20/.test(text), 'a second attempt');
    const printedBefore = seen.stdout().length;
    const second = await startServer(pki.server, first.port);
    const upAt = performance.now();
    await waitFor(
      child.stdout!,
      seen.stdout,
      (text) => text.length > printedBefore,
      'a reply after the restart',
    );
    const gapMs = performance.now() - upAt;

    const r = await result;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(input);
    const attempts = attemptLines(r.stderr);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]).toMatch(
      /\(attempt 1 of 20 in \d+ms\): 127\.0\.0\.1:\d+ closed the connection|was reset/,
    );
    expect(attempts[1]).toMatch(/\(attempt 2 of 20 in \d+ms\): connection refused by 127\.0\.0\.1:\d+$/);
    const summary = /^reconnected 1 time; (\d+) messages sent again$/m.exec(r.stderr);
    expect(summary, r.stderr).not.toBeNull();
    const resent = Number(summary![1]);
    // At least those the first server read without answering; at most those it had not answered.
    expect(resent).toBeGreaterThanOrEqual(2000);
    expect(resent).toBeLessThanOrEqual(9000);
    expect(second.server.stats.accepted).toBe(1);
    console.info(`reconnect gap ${gapMs.toFixed(1)} ms, ${resent} messages sent again`);
  });

  test('with --record, each connection is recorded under its own number, as replay opens them', async () => {
    const pki = await makeTestPki();
    const first = await startServer(pki.server, 0);
    const recording = join(await makeTempDir(), 'session.jsonl');
    const { child, seen, result } = await connectedAndAnswered(first.port, [
      '--ca',
      pki.caFile,
      '--reconnect',
      '--reconnect-delay',
      '10ms',
      '--record',
      recording,
    ]);
    await first.server.destroy();
    await waitFor(child.stderr!, seen.stderr, (text) => /attempt 2 of/.test(text), 'a refused attempt');
    await startServer(pki.server, first.port);
    await waitFor(child.stderr!, seen.stderr, (text) => /^reconnected to /m.test(text), 'the reconnection');
    child.stdin!.end('two\n');
    const r = await result;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('one\ntwo\n');
    const frames = (await readFile(recording, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { conn?: number; dir?: string; data?: string })
      .filter((line) => line.conn !== undefined)
      .map((line) => [line.conn, line.dir, Buffer.from(line.data!, 'base64').toString()]);
    expect(frames).toEqual([
      [1, 'c2s', 'one'],
      [1, 's2c', 'one'],
      [2, 'c2s', 'two'],
      [2, 's2c', 'two'],
    ]);
  });

  test('gives up after --reconnect-max attempts with the exit code of the last failure (4: refused)', async () => {
    const pki = await makeTestPki();
    const server = await startServer(pki.server, 0);
    const { result } = await connectedAndAnswered(server.port, [
      '--ca',
      pki.caFile,
      '--reconnect',
      '--reconnect-delay',
      '10ms',
      '--reconnect-max',
      '3',
    ]);
    await server.server.destroy();
    const r = await result;
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('one\n');
    const attempts = attemptLines(r.stderr);
    expect(attempts.map((line) => ATTEMPT.exec(line)!.slice(1, 3))).toEqual([
      ['1', '3'],
      ['2', '3'],
      ['3', '3'],
    ]);
    expect(attempts[2]).toMatch(/: connection refused by 127\.0\.0\.1:\d+$/);
    expect(r.stderr.trimEnd().split('\n').at(-2)).toMatch(
      /^tlsecho: gave up reconnecting to 127\.0\.0\.1:\d+ after 3 attempts: connection refused by 127\.0\.0\.1:\d+$/,
    );
  });

  test('a server back with another certificate fails verification: exit 5 at the first attempt, no retrying', async () => {
    const pki = await makeTestPki();
    const server = await startServer(pki.server, 0);
    const { result } = await connectedAndAnswered(server.port, [
      '--pin',
      pki.server.fingerprint,
      '--reconnect',
      '--reconnect-delay',
      '10ms',
      '--reconnect-max',
      '0',
    ]);
    await server.server.destroy();
    await startServer(pki.selfSigned, server.port);
    const r = await result;
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('one\n');
    // --reconnect-max 0 would try for ever: a certificate that fails verification ends it at once.
    expect(attemptLines(r.stderr)).toEqual([expect.stringMatching(/\(attempt 1 in \d+ms\): /)]);
    expect(r.stderr).toMatch(
      /^tlsecho: certificate of 127\.0\.0\.1:\d+ does not match the pin: saw sha256:/m,
    );
  });

  test('without --reconnect a server closing ends the run as before (exit 0 when every reply came, no attempt)', async () => {
    const pki = await makeTestPki();
    const server = await startServer(pki.server, 0);
    const { result } = await connectedAndAnswered(server.port, ['--ca', pki.caFile]);
    await server.server.destroy();
    const r = await result;
    expect(r).toMatchObject({ code: 0, stdout: 'one\n', stderr: '' });
  });
});
