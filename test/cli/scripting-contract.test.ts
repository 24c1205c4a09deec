import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { makeSharedTestPki, type TestPki } from '../client/helpers/pki.js';
import { startServeChild, type ServeChild } from '../client/helpers/serve-child.js';
import { startTestServer } from '../client/helpers/framed-server.js';
import { EXIT_CODE_MEANINGS, ExitCode } from '../../src/exit-codes.js';
import { collect, runCli, spawnCli, type CliResult } from '../helpers/run-cli.js';

// The scripting contract: what a shell script or a health check sees from `send` and `connect`, through the
// real binary. Each case asserts the exit code and the stderr a user reads.

let pki: TestPki & { cleanup(): Promise<void> };
let echo: ServeChild;
beforeAll(async () => {
  pki = await makeSharedTestPki();
  echo = await startServeChild(['--cert', pki.server.certFile, '--key', pki.server.keyFile], {
    shared: true,
  });
}, 30_000);
afterAll(async () => {
  await echo?.stop();
  await pki?.cleanup();
});

const lines = (r: CliResult) => r.stderr.split('\n');
const target = () => `127.0.0.1:${echo.port}`;

describe('-- ends the options: every word after it is an operand', () => {
  test('send HOST --expect-echo -- ping sends ping and checks its echo (it used to send nothing, exit 0)', async () => {
    const r = await runCli(['send', '--ca', pki.caFile, target(), '--expect-echo', '--json', '--', 'ping']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      sent: 1,
      received: 1,
      replies: [{ text: 'ping' }],
    });
  });

  test('a message after -- that differs from its echo is checked, so the health check can fail', async () => {
    const r = await runCli(['send', '--ca', pki.caFile, target(), '--expect', 'pong', '--', 'ping'], {
      input: 'a\nb\n',
    });
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('ping\n');
  });

  test('send HOST -- -x sends -x; without --, -x is a usage error that says how to send it', async () => {
    const sent = await runCli(['send', '--ca', pki.caFile, target(), '--', '-x', '--also']);
    expect(sent).toMatchObject({ code: 0, stdout: '-x\n--also\n', stderr: '' });
    const refused = await runCli(['send', '--ca', pki.caFile, target(), '-x']);
    expect(refused.code).toBe(2);
    expect(lines(refused)).toEqual([
      'tlsecho: unknown option -x',
      "hint: see 'tlsecho send --help'; to send a message that starts with '-', put it after --: tlsecho send HOST -- -x",
      '',
    ]);
  });

  test('connect -- HOST:PORT connects to that target, not the default localhost:7000', async () => {
    const r = await runCli(['connect', '--ca', pki.caFile, '--', target()], { input: 'hi\n' });
    expect(r).toMatchObject({ code: 0, stdout: 'hi\n', stderr: '' });
  });
});

describe('send with no message: a check with nothing to check does not pass', () => {
  // The server logs a line per connection it accepts.
  const accepted = () => (echo.log().match(/\] accepted /g) ?? []).length;
  test.each([
    [['--expect-echo'], 'tlsecho: --expect-echo has nothing to check: no message given, and stdin held none'],
    [
      ['--expect', 'pong'],
      'tlsecho: --expect has nothing to check: no message given, and stdin held none (--replies N reads replies the server sends unasked)',
    ],
  ])('send HOST %j with an empty stdin is exit 2 before connecting', async (flags, line) => {
    const before = accepted();
    const r = await runCli(['send', '--ca', pki.caFile, target(), ...flags], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r)).toEqual([line, "hint: see 'tlsecho send --help'", '']);
    expect(accepted()).toBe(before);
  });

  test('without a check it connects, as openssl s_client < /dev/null does, and says it sent nothing', async () => {
    const before = accepted();
    const r = await runCli(['send', '--ca', pki.caFile, target(), '--json'], { input: '' });
    expect(r.code).toBe(0);
    // It did connect: the count the usage errors above are checked with moves.
    await expect.poll(accepted).toBe(before + 1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, sent: 0, received: 0, tls: { verified: true } });
    expect(
      r.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'no message given, and stdin held none: connecting only, sending nothing',
      }),
    ]);
  });
});

describe('connect in a pipe fails when replies are missing', () => {
  async function fakeServer(behaviour: 'silent' | 'mid-frame' | 'close') {
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onFrame: (_payload, peer) => {
        if (behaviour === 'mid-frame') peer.socket.write(Buffer.from([0, 0, 0, 9, 0x68]));
        if (behaviour === 'close') peer.socket.end();
      },
    });
    onTestFinished(() => server.close());
    return `127.0.0.1:${server.port}`;
  }

  test('a server that never answers: exit 6, one line naming how many replies are missing', async () => {
    const address = await fakeServer('silent');
    const r = await runCli(['connect', '--ca', pki.caFile, '--linger', '300ms', address], { input: 'hi\n' });
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(lines(r)[0]).toBe(
      `tlsecho: 1 of 1 reply missing: nothing more arrived from ${address} within 300ms after the input ended (--linger)`,
    );
    expect(lines(r)[1]).toMatch(/^hint: no reply at all: .*--packet \(this run: --packet 4\)$/);
  });

  test('a server that stops mid-frame: exit 6, and the hint counts the bytes pending and names --packet', async () => {
    const address = await fakeServer('mid-frame');
    const r = await runCli(['connect', '--ca', pki.caFile, '--linger', '300ms', address], { input: 'hi\n' });
    expect(r.code).toBe(6);
    expect(lines(r)[0]).toMatch(/^tlsecho: 1 of 1 reply missing: /);
    expect(lines(r)[1]).toBe(
      'hint: 1 byte arrived that do not make a whole frame under --packet 4: does the server use the same --packet?',
    );
  });

  test('a server that closes without replying: exit 4, one line naming the missing reply', async () => {
    const address = await fakeServer('close');
    const r = await runCli(['connect', '--ca', pki.caFile, address], { input: 'hi\n' });
    expect(r.code).toBe(4);
    expect(lines(r)[0]).toBe(`tlsecho: ${address} closed the connection with 1 of 1 reply missing`);
  });

  test('--no-wait: replies are not expected, and the run ends with exit 0 after the linger', async () => {
    const address = await fakeServer('silent');
    const r = await runCli(['connect', '--ca', pki.caFile, '--linger', '300ms', '--no-wait', address], {
      input: 'hi\n',
    });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  test('--help states the end condition and its exit codes', async () => {
    const r = await runCli(['connect', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      'If replies are still missing when --linger has passed with nothing arriving, it exits 6; if the server closes with replies missing, 4',
    );
  });
});

describe('usage errors: exit 2, one line and a hint', () => {
  test.each<[string[], string, string]>([
    [
      ['send', '--no-wait', '--expect', 'x', '127.0.0.1:1', 'hi'],
      'tlsecho: --no-wait and --expect cannot go together: --expect needs the replies',
      "hint: see 'tlsecho send --help'",
    ],
    [
      ['send', '-o', 'jsn', '127.0.0.1:1', 'hi'],
      "tlsecho: invalid --output 'jsn': expected text, hex, base64, json, raw (did you mean json?)",
      "hint: see 'tlsecho send --help'",
    ],
    [
      ['send', '--no-such-flag', '1', '127.0.0.1:1', 'hi'],
      'tlsecho: unknown option --no-such-flag',
      "hint: see 'tlsecho send --help'",
    ],
    [
      ['send', '--expct', 'hi', '127.0.0.1:1', 'hi'],
      'tlsecho: unknown option --expct: did you mean --expect?',
      "hint: see 'tlsecho send --help'",
    ],
    [
      ['version'],
      "tlsecho: unknown command 'version' (did you mean tlsecho --version?)",
      "hint: see 'tlsecho --help'",
    ],
    [
      ['connect', '--json', '127.0.0.1:1'],
      'tlsecho: unknown option --json',
      "hint: see 'tlsecho connect --help'",
    ],
    [
      ['send', '--timeout', '3000000s', '127.0.0.1:1', 'hi'],
      "tlsecho: invalid --timeout '3000000s': the longest is 596h31m24s (about 24.8 days)",
      "hint: see 'tlsecho send --help'",
    ],
    [['send'], 'tlsecho: send needs a target: HOST:PORT', "hint: see 'tlsecho send --help'"],
  ])('%j', async (args, first, hint) => {
    const r = await runCli(args);
    expect({ code: r.code, stdout: r.stdout, stderr: lines(r) }).toEqual({
      code: 2,
      stdout: '',
      stderr: [first, hint, ''],
    });
  });

  test('completion --help prints help for the command, not the script', async () => {
    const r = await runCli(['completion', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tlsecho completion\n\nprint a bash\/zsh completion script/);
    expect(r.stdout).not.toContain('###-begin-tlsecho-completions-###');
  });
});

describe('framing mismatches name --packet', () => {
  test('send --packet line to a packet-4 server: exit 4 with a hint naming --packet; the server log says it looks like text', async () => {
    const r = await runCli(['send', '--ca', pki.caFile, '--packet', 'line', target(), 'hello']);
    expect(r.code).toBe(4);
    expect(lines(r)).toEqual([
      `tlsecho: ${target()} closed the connection after 0 of 1 replies`,
      'hint: no reply at all: if the server frames messages differently (e.g. Erlang {packet, 4}, or lines), match it with --packet (this run: --packet line)',
      '',
    ]);
    await expect
      .poll(() => echo.log())
      .toContain(
        'peer declared a 1751477356-byte frame, above the 8388608-byte maximum; its 4 header bytes read "hell", which looks like unframed text (--packet line is for newline-delimited text)',
      );
  });

  test('send --packet 2 to a packet-4 server times out with a hint naming --packet', async () => {
    const r = await runCli(['send', '--ca', pki.caFile, '--packet', '2', '--timeout', '1s', target(), 'hi']);
    expect(r.code).toBe(6);
    expect(lines(r)).toEqual([
      `tlsecho: timed out after 1s waiting for replies from ${target()}: got 0 of 1`,
      'hint: no reply at all: if the server frames messages differently (e.g. Erlang {packet, 4}, or lines), match it with --packet (this run: --packet 2)',
      '',
    ]);
  });
});

test('a client past serve --max-connections is told the server refused it as full', async () => {
  const server = await startServeChild([
    '--cert',
    pki.server.certFile,
    '--key',
    pki.server.keyFile,
    '--max-connections',
    '1',
  ]);
  const holder = tlsConnect({ host: '127.0.0.1', port: server.port, ca: pki.caPem, servername: 'localhost' });
  onTestFinished(() => void holder.destroy());
  await once(holder, 'secureConnect');
  const r = await runCli(['send', '--ca', pki.caFile, `127.0.0.1:${server.port}`, 'hi']);
  expect(r.code).toBe(5);
  expect(r.stderr).toBe(
    `tlsecho: 127.0.0.1:${server.port} refused the connection: it is full or failing (TLS alert internal_error)\n` +
      'hint: a tlsecho server sends this past --max-connections: try again later, or raise its limit\n',
  );
  await expect.poll(() => server.log()).toContain('(--max-connections)');
});

test('serve stopped by SIGINT drains and exits 0, as the exit-code table says', async () => {
  const child = spawnCli([
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--cert',
    pki.server.certFile,
    '--key',
    pki.server.keyFile,
  ]);
  const result = collect(child, { keepStdinOpen: true });
  let log = '';
  let sent = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (/listening on /.test(log) && !sent) sent = child.kill('SIGINT');
  });
  const r = await result;
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('SIGINT: shutting down');
  const interrupted = EXIT_CODE_MEANINGS.find(({ code }) => code === ExitCode.INTERRUPTED)!;
  expect(interrupted.meaning).toContain(
    'serve is the exception: stopped by a signal, it drains its connections and exits 0',
  );
});
