import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { runCli, spawnCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startListening, type ListeningChild } from '../proxy/helpers/listening-child.js';

// `tlsecho connect --record FILE` as users run it (child processes, real TLS on loopback, verification on),
// and the file played back by `tlsecho replay`.

let pki: Awaited<ReturnType<typeof makeSharedTestPki>>;
beforeAll(async () => {
  pki = await makeSharedTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

function serve(args: string[] = []): Promise<ListeningChild> {
  return startListening([
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--cert',
    pki.server.certFile,
    '--key',
    pki.server.keyFile,
    ...args,
  ]);
}

// Answers each line in capitals; sed -u, since tr would hold its output back in a pipe buffer.
const UPPERCASE = 'exec:sed -u y/abcdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNOPQRSTUVWXYZ/';

async function recordedFrames(file: string): Promise<Array<{ conn: number; dir: string; text: string }>> {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').slice(1);
  return lines.map((line) => {
    const { conn, dir, data } = JSON.parse(line) as { conn: number; dir: string; data: string };
    return { conn, dir, text: Buffer.from(data, 'base64').toString('utf8') };
  });
}

describe('tlsecho connect --record', () => {
  test('records a piped session that replay then checks: 0 against the same server, 8 against another', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'session.jsonl');
    const server = await serve();
    const r = await runCli(['connect', `localhost:${server.port}`, '--ca', pki.caFile, '--record', file], {
      input: 'abc\nMixed 1\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: 'abc\nMixed 1\n', stderr: '' });
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      recording: 'tlsecho-proxy',
      version: 1,
      target: `localhost:${server.port}`,
      packet: 4,
    });
    const frames = await recordedFrames(file);
    expect(frames.filter((frame) => frame.dir === 'c2s')).toEqual([
      { conn: 1, dir: 'c2s', text: 'abc' },
      { conn: 1, dir: 'c2s', text: 'Mixed 1' },
    ]);
    expect(frames.filter((frame) => frame.dir === 's2c')).toEqual([
      { conn: 1, dir: 's2c', text: 'abc' },
      { conn: 1, dir: 's2c', text: 'Mixed 1' },
    ]);

    const same = await runCli(['replay', file, `localhost:${server.port}`, '--ca', pki.caFile]);
    expect(same).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'connection 1: 2 frames sent, 2 of 2 replies match\n',
    });

    const upper = await serve(['--handler', UPPERCASE]);
    const other = await runCli(['replay', file, `localhost:${upper.port}`, '--ca', pki.caFile]);
    expect(other.code).toBe(8);
    expect(other.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 1 differs from the recording: expected "abc" (3 bytes) but got "ABC" (3 bytes) (first difference at byte 0)',
      'tlsecho: connection 1: reply 2 differs from the recording: expected "Mixed 1" (7 bytes) but got "MIXED 1" (7 bytes) (first difference at byte 1)',
      'connection 1: 2 frames sent, 0 of 2 replies match',
      `tlsecho: 2 of 2 replies differ from the recording ${file}`,
    ]);
  });

  test('a connect killed mid-session has already written every frame it sent and received', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'session.jsonl');
    const server = await serve();
    const child = spawnCli(['connect', `localhost:${server.port}`, '--ca', pki.caFile, '--record', file]);
    let stdout = '';
    child.stdout!.setEncoding('utf8');
    const gotBoth = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replies not seen within 10 s: ${stdout}`)), 10_000);
      child.stdout!.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout === 'one\ntwo\n') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin!.write('one\ntwo\n');
    await gotBoth;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const frames = await recordedFrames(file);
    expect(frames.map(({ dir, text }) => `${dir}:${text}`).sort()).toEqual(
      ['c2s:one', 'c2s:two', 's2c:one', 's2c:two'].sort(),
    );
  });

  test('a file that cannot be written fails before connecting (exit 3)', async () => {
    const dir = await makeTempDir();
    const server = await serve();
    const file = join(dir, 'missing', 'session.jsonl');
    const r = await runCli(['connect', `localhost:${server.port}`, '--ca', pki.caFile, '--record', file], {
      input: 'abc\n',
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^tlsecho: cannot write the recording ${file}: `));
    expect(server.stderr()).not.toMatch(/accepted/);
  });
});
