import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ElixirServer } from '../interop/helpers/otp-peers.js';
import { makeInteropPki, type InteropPki } from '../interop/helpers/pki.js';
import { runCli } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startListening, type ListeningChild } from './helpers/listening-child.js';

// `tlsecho proxy` and `tlsecho replay` between real peers: the `tlsecho connect` CLI on one side, an Elixir
// `:ssl` `{packet, 4}` server on the other (test/interop/fixtures/echo_server.exs), verification on at
// every hop: the proxy trusts the Elixir server through --ca, `connect` trusts the proxy.

const b64 = (text: string) => Buffer.from(text).toString('base64');

needs('escript', 'elixir').describe('tlsecho proxy between tlsecho connect and an Elixir :ssl server', () => {
  let pki: InteropPki;
  let elixir: ElixirServer;
  const ports = { echo: 0, upper: 0, etf: 0 };

  beforeAll(async () => {
    pki = await makeInteropPki();
    elixir = await ElixirServer.start(pki);
    ports.echo = await elixir.listen(4);
    ports.upper = await elixir.listen(4, { mode: 'upper' });
    ports.etf = await elixir.listen(4, { mode: 'etf' });
  });

  afterAll(async () => {
    await elixir?.stop();
    await pki?.remove();
  });

  const proxy = (port: number, args: string[] = []): Promise<ListeningChild> =>
    startListening([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      pki.tlsechoServer.certFile,
      '--key',
      pki.tlsechoServer.keyFile,
      '--ca',
      pki.caFile,
      `localhost:${port}`,
      ...args,
    ]);

  test('relays a piped connect session to the Elixir server, shows it, and records it for replay', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'session.jsonl');
    const relay = await proxy(ports.echo, ['--record', file]);
    const r = await runCli(['connect', `localhost:${relay.port}`, '--ca', pki.caFile], {
      input: 'hello\nwörld 2\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: 'hello\nwörld 2\n', stderr: '' });
    await relay.waitFor('stderr', /\[#1\] closed /);
    // connect pipes its input without waiting for replies: each direction keeps its own order.
    const shown = relay.stdout().trimEnd().split('\n');
    const sent = ['[#1] client→server 5 bytes: hello', '[#1] client→server 8 bytes: wörld 2'];
    const replies = ['[#1] server→client 5 bytes: hello', '[#1] server→client 8 bytes: wörld 2'];
    expect(shown.filter((line) => line.includes('client→server'))).toEqual(sent);
    expect(shown.filter((line) => line.includes('server→client'))).toEqual(replies);
    expect(shown.indexOf(sent[0]!)).toBeLessThan(shown.indexOf(replies[0]!));
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      recording: 'tlsecho-proxy',
      version: 1,
      target: `localhost:${ports.echo}`,
      packet: 4,
    });
    // The file holds what was shown, frame for frame and in the same order.
    const frames = lines.slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(frames.map(({ conn, dir, data }) => ({ conn, dir, data }))).toEqual(
      shown.map((line) => ({
        conn: 1,
        dir: line.includes('client→server') ? 'c2s' : 's2c',
        data: b64(line.replace(/^.*bytes: /, '')),
      })),
    );

    // The same server answers as recorded: exit 0.
    const same = await runCli(['replay', file, `localhost:${ports.echo}`, '--ca', pki.caFile]);
    expect(same).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'connection 1: 2 frames sent, 2 of 2 replies match\n',
    });

    // A server that answers in capitals: exit 8, one line per differing reply.
    const other = await runCli(['replay', file, `localhost:${ports.upper}`, '--ca', pki.caFile]);
    expect(other.code).toBe(8);
    expect(other.stdout).toBe('');
    expect(other.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 1 differs from the recording: expected "hello" (5 bytes) but got "HELLO" (5 bytes) (first difference at byte 0)',
      'tlsecho: connection 1: reply 2 differs from the recording: expected "wörld 2" (8 bytes) but got "WöRLD 2" (8 bytes) (first difference at byte 0)',
      'connection 1: 2 frames sent, 0 of 2 replies match',
      `tlsecho: 2 of 2 replies differ from the recording ${file}`,
    ]);
  });

  test('--format etf shows the Erlang terms passing both ways; a frame that is not ETF shows as hex and the relay goes on', async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'session.jsonl');
    const relay = await proxy(ports.etf, ['--format', 'etf', '--record', file]);
    // The Elixir server answers term_to_binary({:ok, Term}); {raw, Bytes} is answered with Bytes as they are.
    const r = await runCli(
      ['connect', `localhost:${relay.port}`, '--ca', pki.caFile, '--format', 'etf', '--output', 'hex'],
      { input: '{ping, 1}\n{raw, <<1,2,3>>}\n[<<"wörld">>, 2.5, #{a => b}]\n' },
    );
    expect(r.code).toBe(0);
    await relay.waitFor('stderr', /\[#1\] closed /);
    const shown = relay.stdout().trimEnd().split('\n');
    expect(shown.filter((line) => line.includes('client→server'))).toEqual([
      '[#1] client→server 11 bytes: {ping,1}',
      '[#1] client→server 16 bytes: {raw,<<1,2,3>>}',
      '[#1] client→server 37 bytes: [<<119,246,114,108,100>>,2.5,#{a => b}]',
    ]);
    expect(shown.filter((line) => line.includes('server→client'))).toEqual([
      expect.stringMatching(/^\[#1\] server→client \d+ bytes: \{ok,\{ping,1\}\}$/),
      expect.stringMatching(/^\[#1\] server→client 3 bytes: 010203 \(not an Erlang term: .+\)$/),
      expect.stringMatching(
        /^\[#1\] server→client \d+ bytes: \{ok,\[<<119,246,114,108,100>>,2\.5,#\{a => b\}\]\}$/,
      ),
    ]);
    // Relayed unchanged: what the client got is what Erlang sent, byte for byte, and what the file holds.
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').slice(1);
    const replies = lines
      .map((line) => JSON.parse(line) as { dir: string; data: string })
      .filter((frame) => frame.dir === 's2c')
      .map((frame) => Buffer.from(frame.data, 'base64').toString('hex'));
    expect(r.stdout.trimEnd().split('\n')).toEqual(replies);
    expect(replies[1]).toBe('010203');
  });
});
