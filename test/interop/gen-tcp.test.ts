import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startListening } from '../proxy/helpers/listening-child.js';
import { LinePeer } from './helpers/line-peer.js';

// `--plain` against what it is for: an Erlang service on gen_tcp with {packet, 4} and no TLS
// (fixtures/gen_tcp_echo.escript), reached directly and through `tlsecho proxy --upstream-plain`.

const FIXTURE = new URL('./fixtures/gen_tcp_echo.escript', import.meta.url).pathname;
const WARNING =
  'tlsecho: warning: the connection to the server is not encrypted (--plain): anyone between here and the server can read and change this session\n';

const erlang = needs('escript');

erlang.describe('tlsecho --plain against an Erlang gen_tcp {packet, 4} service', () => {
  let service: LinePeer;
  let target: string;

  beforeAll(async () => {
    service = await LinePeer.start('escript', [FIXTURE]);
    target = `127.0.0.1:${await service.request('listen', '4')}`;
  });
  afterAll(async () => {
    await service?.close();
  });

  erlang.test('send --plain gets each message back and exits 0', async () => {
    const r = await runCli(['send', target, '--plain', '--expect-echo', 'hello', 'wörld', '']);
    expect(r).toMatchObject({ code: 0, stdout: 'hello\nwörld\n\n', stderr: WARNING });
  });

  erlang.test('connect --plain pipes several lines through, one frame each', async () => {
    const lines = ['one', 'two', 'x'.repeat(100_000), 'four'];
    const r = await runCli(['connect', target, '--plain'], { input: lines.map((l) => `${l}\n`).join('') });
    expect(r).toMatchObject({ code: 0, stdout: lines.map((l) => `${l}\n`).join(''), stderr: WARNING });
  });

  erlang.test('proxy --upstream-plain puts TLS in front of it for tlsecho connect', async () => {
    const pki = await makeSharedTestPki();
    onTestFinished(() => pki.cleanup());
    const before = Number(await service.request('accepted'));
    const relay = await startListening([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      pki.server.certFile,
      '--key',
      pki.server.keyFile,
      '--upstream-plain',
      target,
    ]);
    const r = await runCli(['connect', `localhost:${relay.port}`, '--ca', pki.caFile], {
      input: 'alpha\nbeta\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: 'alpha\nbeta\n', stderr: '' });
    expect(relay.stdout()).toContain('[#1] server→client 4 bytes: beta');
    expect(Number(await service.request('accepted'))).toBe(before + 1);
  });
});
