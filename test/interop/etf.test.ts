import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect as connectTls } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { atom, decodeTerm, formatTerm, termsEqual, tuple } from '../../src/etf/index.js';
import { arbitraryTerm } from '../etf/helpers/arbitraries.js';
import { runCli } from '../helpers/run-cli.js';
import { ElixirServer, OtpClient, verifyingOptions } from './helpers/otp-peers.js';
import { needs } from '../helpers/system-tools.js';
import { makeInteropPki, type InteropPki } from './helpers/pki.js';
import { ServeProcess } from './helpers/tlsecho-serve.js';

// Erlang terms end to end: `tlsecho send --format etf` against an Elixir server doing
// :erlang.binary_to_term and replying term_to_binary({:ok, term}), and an Erlang client doing
// term_to_binary/binary_to_term against `tlsecho serve --handler etf-echo`.

// {raw, Binary} asks the Elixir fixture for a reply that is not ETF: keep it out of random terms.
const notRawRequest = arbitraryTerm().filter(
  (term) => !(term.type === 'tuple' && term.elements[0]?.type === 'atom' && term.elements[0].name === 'raw'),
);

let pki: InteropPki;
let etfEcho: ServeProcess;

beforeAll(async () => {
  pki = await makeInteropPki();
  etfEcho = await ServeProcess.start(pki.tlsechoServer, ['--handler', 'etf-echo']);
});

afterAll(async () => {
  await etfEcho?.stop();
  await pki?.remove();
});

describe('tlsecho send --format etf against tlsecho serve --handler etf-echo', () => {
  test('--expect compares the decoded reply with a term', async () => {
    const target = `127.0.0.1:${etfEcho.port}`;
    const [passes, fails] = await Promise.all([
      runCli([
        'send',
        '--format',
        'etf',
        target,
        '--ca',
        pki.caFile,
        '{ping, 1}',
        '--expect',
        '{ok,{ping,1}}',
      ]),
      runCli([
        'send',
        '--format',
        'etf',
        target,
        '--ca',
        pki.caFile,
        '{ping, 1}',
        '--expect',
        '{ok,{ping,2}}',
      ]),
    ]);
    expect(passes).toMatchObject({ code: 0, stdout: '{ok,{ping,1}}\n', stderr: '' });
    expect(fails.code).toBe(8);
    expect(fails.stderr).toBe(
      'tlsecho: reply 1 differs from --expect: expected "{ok,{ping,2}}" but got "{ok,{ping,1}}"\n',
    );
  });

  test('a message that is not a term is a usage error (exit 2) naming it; nothing is sent', async () => {
    const from = await markServeLog();
    const r = await runCli([
      'send',
      '--format',
      'etf',
      `127.0.0.1:${etfEcho.port}`,
      '--ca',
      pki.caFile,
      'ok',
      '{ping,',
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^tlsecho: message 2 "\{ping," is not a valid Erlang term: at column 7: .*\nhint: /,
    );
    const to = await markServeLog();
    // Between the two marks serve logged nothing about a connection: neither accepted nor failed.
    expect(etfEcho.stderr.slice(from.end, to.start)).not.toMatch(/accepted|handshake with/);
  });
});

/**
 * Opens a verified TLS connection of our own to etf-echo and waits for serve's line about it. serve logs
 * connections in the order it accepts them (holding some back for up to 50 ms to write them together), so
 * every line about an earlier connection comes before this one: two marks bracket what happened between.
 */
async function markServeLog(): Promise<{ start: number; end: number }> {
  const socket = connectTls({ host: '127.0.0.1', port: etfEcho.port, ca: await readFile(pki.caFile) });
  onTestFinished(() => {
    socket.destroy();
  });
  await once(socket, 'secureConnect');
  const line = await etfEcho.waitForLog(new RegExp(`\\] accepted 127\\.0\\.0\\.1:${socket.localPort} `));
  socket.end();
  const start = etfEcho.stderr.indexOf(line);
  return { start, end: start + line.length };
}

needs('escript', 'elixir').describe('Erlang terms between tlsecho and OTP', () => {
  let elixir: ElixirServer;
  let otp: OtpClient;
  let elixirTarget: string;

  beforeAll(async () => {
    [elixir, otp] = await Promise.all([ElixirServer.start(pki), OtpClient.start()]);
    elixirTarget = `127.0.0.1:${await elixir.listen(4, { mode: 'etf' })}`;
  });

  afterAll(async () => {
    await Promise.all([elixir?.stop(), otp?.stop()]);
  });

  const sendTerms = (args: string[], input?: string) =>
    runCli(['send', elixirTarget, '--ca', pki.caFile, '--format', 'etf', ...args], { input });

  test('OTP decodes what tlsecho encodes and tlsecho shows what OTP replies', async () => {
    const r = await sendTerms([
      '{hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}}',
      "'Quoted atom'",
      '-12345678901234567890',
      '--expect',
      '{ok, {hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}}}',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      '{ok,{hello,<<"world">>,42,[1.5,atom,"str"],#{key => value}}}\n' +
        "{ok,'Quoted atom'}\n" +
        '{ok,-12345678901234567890}\n',
    );
    expect(r.code).toBe(0);
  });

  test('--output json prints the JSON mapping of what OTP sent', async () => {
    const r = await sendTerms(['--output', 'json', '#{name => <<"Ada">>, tags => [a, b]}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ $tuple: ['ok', { name: 'Ada', tags: ['a', 'b'] }] });
  });

  test('a reply that is not ETF is printed as hex with a warning, not dropped', async () => {
    // The fixture answers {raw, Bytes} with Bytes themselves.
    const r = await sendTerms(['{raw, <<"hello">>}', 'next']);
    expect(r.stdout).toBe('68656c6c6f\n{ok,next}\n');
    expect(r.stderr).toMatch(/^tlsecho: warning: reply 1 is not an Erlang term \(.+\): shown as hex\n$/);
    expect(r.code).toBe(0);
  });

  test('random terms sent by tlsecho are decoded by OTP to the same value (property, through the CLI)', async () => {
    // Each run is one `send` of 20 terms read from stdin; OTP's reply bytes are checked, not only our view.
    await fc.assert(
      fc.asyncProperty(fc.array(notRawRequest, { minLength: 20, maxLength: 20 }), async (terms) => {
        const r = await sendTerms(['--output', 'hex'], terms.map((term) => `${formatTerm(term)}\n`).join(''));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const replies = r.stdout.trimEnd().split('\n');
        expect(replies).toHaveLength(terms.length);
        replies.forEach((hex, i) => {
          const reply = decodeTerm(Buffer.from(hex, 'hex'));
          expect(termsEqual(reply, tuple(atom('ok'), terms[i]!))).toBe(true);
        });
      }),
      { numRuns: 3 },
    );
  });

  test('an Erlang client gets {ok, Term} from serve --handler etf-echo, and {error, badarg} for bytes that are not a term', async () => {
    await otp.connect('etf', etfEcho.port, 4, verifyingOptions(pki));
    await otp.sendTerm('etf', '{hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}, self()}');
    expect(await otp.recvTerm('etf')).toMatch(
      /^\{ok,\{hello,<<"world">>,42,\[1\.5,atom,"str"\],#\{key => value\},<\d+\.\d+\.\d+>\}\}$/,
    );
    await otp.send('etf', 'not a term');
    expect(await otp.recvTerm('etf')).toBe('{error,badarg}');
    await otp.sendTerm('etf', '[still, "going"]');
    expect(await otp.recvTerm('etf')).toBe('{ok,[still,"going"]}');
    await otp.close('etf');
  });
});
