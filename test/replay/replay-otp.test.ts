import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeTerm, parseTerm } from '../../src/etf/index.js';
import { Recorder } from '../../src/record/recording.js';
import { ElixirServer } from '../interop/helpers/otp-peers.js';
import { makeInteropPki, type InteropPki } from '../interop/helpers/pki.js';
import { runCli } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';

// `tlsecho replay --format etf` against a real Erlang service: the Elixir `:ssl` `{packet, 4}` server of
// test/interop/fixtures/echo_server.exs, which answers each term with term_to_binary({ok, Term}).

needs('escript', 'elixir').describe('tlsecho replay --format etf against an Elixir :ssl server', () => {
  let pki: InteropPki;
  let elixir: ElixirServer;
  let port = 0;

  beforeAll(async () => {
    pki = await makeInteropPki();
    elixir = await ElixirServer.start(pki);
    port = await elixir.listen(4, { mode: 'etf' });
  });

  afterAll(async () => {
    await elixir?.stop();
    await pki?.remove();
  });

  test('a reply recorded compressed matches the same term OTP sends uncompressed; another term is shown as terms', async () => {
    // Recorded from a service that answered term_to_binary(Reply, [compressed]): OTP writes the same
    // term uncompressed unless told, so only the terms are equal, whichever OTP release runs the server.
    const file = join(await makeTempDir(), 'session.jsonl');
    const recorder = Recorder.open(file, { target: 'localhost:7000', packet: 4 });
    recorder.record(1, 'c2s', 0, encodeTerm(parseTerm('{data,<<0:8000>>}')));
    recorder.record(1, 's2c', 1, encodeTerm(parseTerm('{ok,{data,<<0:8000>>}}'), { compressed: true }));
    recorder.record(1, 'c2s', 2, encodeTerm(parseTerm('{ping,1}')));
    recorder.record(1, 's2c', 3, encodeTerm(parseTerm('{ok,{ping,2}}')));
    recorder.close();

    const r = await runCli(['replay', file, `localhost:${port}`, '--ca', pki.caFile, '--format', 'etf']);
    expect(r.code).toBe(8);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 2 differs from the recording: expected {ok,{ping,2}} but got {ok,{ping,1}}',
      'connection 1: 2 frames sent, 1 of 2 replies match (1 as equal terms in other bytes)',
      `tlsecho: 1 of 2 replies differ from the recording ${file}`,
    ]);
    // Byte for byte, the compressed reply differs as well.
    const bytes = await runCli(['replay', file, `localhost:${port}`, '--ca', pki.caFile]);
    expect(bytes.code).toBe(8);
    expect(bytes.stderr).toMatch(/^connection 1: 2 frames sent, 0 of 2 replies match$/m);
  });
});
