import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startListening, type ListeningChild } from './helpers/listening-child.js';

// `tlsecho proxy` and `tlsecho replay` as users run them: child processes, real TLS on loopback,
// verification on at every hop (the proxy trusts the server through --ca; clients trust the proxy too).

let pki: Awaited<ReturnType<typeof makeSharedTestPki>>;
beforeAll(async () => {
  pki = await makeSharedTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

const serverCert = () => ['--cert', pki.server.certFile, '--key', pki.server.keyFile];

function serve(args: string[] = []): Promise<ListeningChild> {
  return startListening(['serve', '--host', '127.0.0.1', '--port', '0', ...serverCert(), ...args]);
}

function proxy(server: ListeningChild, args: string[] = []): Promise<ListeningChild> {
  return startListening([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    ...serverCert(),
    '--ca',
    pki.caFile,
    `localhost:${server.port}`,
    ...args,
  ]);
}

interface RecordedLine {
  conn: number;
  dir: string;
  t: number;
  data: string;
}

async function readRecordingLines(
  file: string,
): Promise<{ header: Record<string, unknown>; frames: RecordedLine[] }> {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  return {
    header: JSON.parse(lines[0]!) as Record<string, unknown>,
    frames: lines.slice(1).map((line) => JSON.parse(line) as RecordedLine),
  };
}

// Answers each line in capitals; sed -u, since tr would hold its output back in a pipe buffer.
const UPPERCASE = 'exec:sed -u y/abcdefghijklmnopqrstuvwxyz/ABCDEFGHIJKLMNOPQRSTUVWXYZ/';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('tlsecho proxy', () => {
  test('relays send to a serve echo and shows every frame both ways on stdout', async () => {
    const server = await serve();
    const relay = await proxy(server);
    const r = await runCli(['send', `localhost:${relay.port}`, '--ca', pki.caFile, 'hello', 'wörld\n1']);
    expect(r).toMatchObject({ code: 0, stdout: 'hello\nwörld\n1\n', stderr: '' });
    await relay.waitFor('stdout', /server→client.*\n.*server→client.*\n/);
    const lines = relay.stdout().trimEnd().split('\n');
    expect(lines.sort()).toEqual(
      [
        '[#1] client→server 5 bytes: hello',
        '[#1] client→server 8 bytes: wörld\\n1',
        '[#1] server→client 5 bytes: hello',
        '[#1] server→client 8 bytes: wörld\\n1',
      ].sort(),
    );
    // Each client→server frame is shown before the reply it caused.
    expect(lines.indexOf('[#1] client→server 5 bytes: hello')).toBeLessThan(
      lines.indexOf('[#1] server→client 5 bytes: hello'),
    );
    await relay.waitFor('stderr', /\[#1\] closed .*client closed/);
    expect(relay.stderr()).toMatch(
      /\[#1\] the client closed its side; closing the connection to localhost:\d+/,
    );
  });

  test('--output json shows each frame as a JSON line, binary payloads in base64', async () => {
    const server = await serve();
    const relay = await proxy(server, ['--output', 'json']);
    const payload = Buffer.from([0, 0xff, 0x80]);
    const input = Buffer.concat([Buffer.from([0, 0, 0, 3]), payload]);
    const r = await runCli(['send', `localhost:${relay.port}`, '--ca', pki.caFile, '--raw-in', '-o', 'hex'], {
      input,
    });
    expect(r).toMatchObject({ code: 0, stdout: '00ff80\n' });
    await relay.waitFor('stdout', /s2c/);
    const shown = relay
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(shown).toEqual([
      { conn: 1, dir: 'c2s', t: expect.any(Number), length: 3, base64: payload.toString('base64') },
      { conn: 1, dir: 's2c', t: expect.any(Number), length: 3, base64: payload.toString('base64') },
    ]);
  });

  test('--upstream-packet 4 lets a --packet line client talk to a {packet, 4} server', async () => {
    const server = await serve(); // packet 4
    const relay = await proxy(server, ['--packet', 'line', '--upstream-packet', '4', '--output', 'hex']);
    const r = await runCli([
      'send',
      `localhost:${relay.port}`,
      '--ca',
      pki.caFile,
      '--packet',
      'line',
      'ping',
    ]);
    expect(r).toMatchObject({ code: 0, stdout: 'ping\n', stderr: '' });
    await relay.waitFor('stdout', /server→client/);
    expect(relay.stdout()).toBe(
      '[#1] client→server 4 bytes: 70696e67\n[#1] server→client 4 bytes: 70696e67\n',
    );
    expect(relay.stderr()).toMatch(/listening on 127\.0\.0\.1:\d+ \(packet line, proxy to localhost:\d+\)/);
  });

  test('when the server closes mid-stream, the client is closed, the reason logged, and the recording holds every relayed frame', async () => {
    const dir = await makeTempDir();
    // The server answers the first message, then its handler exits and it closes the connection.
    const server = await serve(['--handler', 'exec:head -n 1']);
    const record = join(dir, 'session.jsonl');
    const relay = await proxy(server, ['--record', record, '--output', 'json']);
    const r = await runCli([
      'send',
      `localhost:${relay.port}`,
      '--ca',
      pki.caFile,
      'first',
      'second',
      'third',
    ]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('first\n');
    expect(r.stderr).toMatch(/^tlsecho: localhost:\d+ closed the connection after 1 of 3 replies/);
    await relay.waitFor('stderr', /\[#1\] closed /);
    expect(relay.stderr()).toMatch(/\[#1\] localhost:\d+ closed the connection; closing the client/);
    const { header, frames } = await readRecordingLines(record);
    expect(header).toEqual({
      recording: 'tlsecho-proxy',
      version: 1,
      target: `localhost:${server.port}`,
      packet: 4,
    });
    const shown = relay
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { conn: number; dir: string; text: string });
    // Every frame shown as relayed is in the file, in the same order, and the reply is there.
    expect(frames.map(({ conn, dir, data }) => ({ conn, dir, data }))).toEqual(
      shown.map(({ conn, dir, text }) => ({ conn, dir, data: b64(text) })),
    );
    expect(frames).toContainEqual(expect.objectContaining({ dir: 'c2s', data: b64('first') }));
    expect(frames).toContainEqual(expect.objectContaining({ dir: 's2c', data: b64('first') }));
  });

  test('a server the proxy cannot reach closes the client with the reason logged', async () => {
    const server = await serve();
    const relay = await proxy(server);
    server.child.kill('SIGKILL');
    await server.exited();
    const r = await runCli(['send', `localhost:${relay.port}`, '--ca', pki.caFile, 'hi']);
    expect(r.code).toBe(4);
    await relay.waitFor('stderr', /\[#1\] closed .*refused/);
  });
});

describe('tlsecho replay', () => {
  async function record(): Promise<{ server: ListeningChild; file: string }> {
    const dir = await makeTempDir();
    const server = await serve();
    const file = join(dir, 'session.jsonl');
    const relay = await proxy(server, ['--record', file]);
    const r = await runCli(['send', `localhost:${relay.port}`, '--ca', pki.caFile, 'abc', 'Mixed 1']);
    expect(r.code).toBe(0);
    await relay.waitFor('stderr', /\[#1\] closed /);
    // A second connection, recorded apart from the first.
    const r2 = await runCli(['send', `localhost:${relay.port}`, '--ca', pki.caFile, 'xyz']);
    expect(r2.code).toBe(0);
    await relay.waitFor('stderr', /\[#2\] closed /);
    return { server, file };
  }

  test('exits 0 when the server answers as recorded', async () => {
    const { server, file } = await record();
    const r = await runCli(['replay', file, `localhost:${server.port}`, '--ca', pki.caFile]);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toBe(
      'connection 1: 2 frames sent, 2 of 2 replies match\nconnection 2: 1 frame sent, 1 of 1 replies match\n',
    );
  });

  test('exits 8 with a one-line diff per differing reply when the server answers differently', async () => {
    const { file } = await record();
    const upper = await serve(['--handler', UPPERCASE]);
    const r = await runCli(['replay', file, `localhost:${upper.port}`, '--ca', pki.caFile]);
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 1 differs from the recording: expected "abc" (3 bytes) but got "ABC" (3 bytes) (first difference at byte 0)',
      'tlsecho: connection 1: reply 2 differs from the recording: expected "Mixed 1" (7 bytes) but got "MIXED 1" (7 bytes) (first difference at byte 1)',
      'connection 1: 2 frames sent, 0 of 2 replies match',
      'tlsecho: connection 2: reply 1 differs from the recording: expected "xyz" (3 bytes) but got "XYZ" (3 bytes) (first difference at byte 0)',
      'connection 2: 1 frame sent, 0 of 1 replies match',
      `tlsecho: 3 of 3 replies differ from the recording ${file}`,
    ]);
  });

  test('--json reports each connection on stdout', async () => {
    const { file } = await record();
    const upper = await serve(['--handler', UPPERCASE]);
    const r = await runCli(['replay', file, `localhost:${upper.port}`, '--ca', pki.caFile, '--json']);
    expect(r.code).toBe(8);
    const report = JSON.parse(r.stdout) as { ok: boolean; connections: Array<Record<string, unknown>> };
    expect(report.ok).toBe(false);
    expect(report.connections).toEqual([
      expect.objectContaining({ conn: 1, ok: false, sent: 2, expected: 2, received: 2, matched: 0 }),
      expect.objectContaining({ conn: 2, ok: false, sent: 1, expected: 1, received: 1, matched: 0 }),
    ]);
    expect(report.connections[0]!.mismatches).toHaveLength(2);
  });

  test('a last line cut short (the recorder killed mid-write) is skipped, and said to be', async () => {
    const { server, file } = await record();
    const text = await readFile(file, 'utf8');
    // The last frame line loses its end, as when the recorder is killed while writing it.
    const cut = text.slice(0, text.trimEnd().lastIndexOf('"data"') + 10);
    await writeFile(file, cut);
    const lineNumber = cut.split('\n').length;
    const r = await runCli(['replay', file, `localhost:${server.port}`, '--ca', pki.caFile]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(
      `tlsecho: warning: ${file} line ${lineNumber} is cut short (the recorder stopped while writing it): replaying the frames before it`,
    );
  });

  test('a frame whose data is not base64 is refused before anything is sent, not replayed as other bytes', async () => {
    const { server, file } = await record();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace(/"data":"[^"]*"/, '"data":"!!!"');
    await writeFile(file, lines.join('\n'));
    const accepted = () => server.stderr().match(/\] accepted /g)?.length ?? 0;
    const before = accepted();
    const r = await runCli(['replay', file, `localhost:${server.port}`, '--ca', pki.caFile]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `tlsecho: ${file} line 2 is not a recorded frame: ${lines[1]!.slice(0, 60)}`,
    );
    expect(accepted()).toBe(before);
  });

  test.each([
    [['', 'localhost:7000'], "tlsecho: invalid recording '': expected a file name"],
    [
      ['x.jsonl', 'localhost:7000', '--timeout', '0'],
      "tlsecho: invalid --timeout '0': expected more than zero (e.g. 500ms, 10s)",
    ],
  ])('replay %j is a usage error (exit 2)', async (args, line) => {
    const r = await runCli(['replay', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(line);
  });

  test('exits 6 when a recorded reply does not come within --timeout', async () => {
    const { file } = await record();
    const silent = await serve(['--handler', 'exec:cat >/dev/null']);
    const r = await runCli([
      'replay',
      file,
      `localhost:${silent.port}`,
      '--ca',
      pki.caFile,
      '--timeout',
      '300ms',
    ]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(
      /^tlsecho: no reply 1 from localhost:\d+ within 300ms \(--timeout\): got 0 of 2$/m,
    );
  });
});
