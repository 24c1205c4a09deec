import { execFile as execFileCallback, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { toConnectOptions, type ConnectArgs } from '../../src/cli/commands/connect.js';
import type { ConnectOptions } from '../../src/client/connect-session.js';
import { BIN, cliEnv, collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { expectUsageError, parseThroughMain } from '../helpers/parse-command.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { frame, startTestServer } from '../client/helpers/framed-server.js';
import { makeSharedTestPki, makeTestPki } from '../client/helpers/pki.js';
import { startServeChild, type ServeChild } from '../client/helpers/serve-child.js';

// One `tlsecho serve` (CA-signed certificate, {packet, 4}, echo) for the tests that need nothing else:
// starting a server per test would cost a Node start-up each.
let shared: { pki: Awaited<ReturnType<typeof makeSharedTestPki>>; server: ServeChild };
beforeAll(async () => {
  const pki = await makeSharedTestPki();
  const server = await startServeChild(['--cert', pki.server.certFile, '--key', pki.server.keyFile], {
    shared: true,
  });
  shared = { pki, server };
});
afterAll(async () => {
  await shared?.server.stop();
  await shared?.pki.cleanup();
});

const execFile = promisify(execFileCallback);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RSS_REPORTER = fileURLToPath(new URL('../client/fixtures/report-max-rss.mjs', import.meta.url));

describe('tlsecho connect, stdin piped', () => {
  test.each(['1', '2', '4', 'line'])(
    '--packet %s: frames in, replies out, against tlsecho serve',
    async (packet) => {
      const pki = await makeTestPki();
      const server = await startServeChild([
        '--packet',
        packet,
        '--cert',
        pki.server.certFile,
        '--key',
        pki.server.keyFile,
      ]);
      const r = await runCli(
        ['connect', `127.0.0.1:${server.port}`, '--packet', packet, '--ca', pki.caFile],
        {
          input: Buffer.from('one\n\nnul\0here\n\xff\xfe\nlast', 'latin1'),
        },
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdoutBytes).toEqual(Buffer.from('one\n\nnul\0here\n\xff\xfe\nlast\n', 'latin1'));
    },
  );

  test('--output raw from one run is --raw-in for the next, and --output json reads it back', async () => {
    const { pki, server } = shared;
    const target = `127.0.0.1:${server.port}`;
    const framed = await runCli(
      ['connect', target, '--pin', pki.server.fingerprint, '--null', '--output', 'raw'],
      {
        input: Buffer.from('a\nb\0\0\xff\0', 'latin1'),
      },
    );
    expect(framed.code).toBe(0);
    expect(framed.stdoutBytes).toEqual(
      Buffer.concat([frame(4, 'a\nb'), frame(4, ''), frame(4, Buffer.from([0xff]))]),
    );
    const decoded = await runCli(
      ['connect', target, '--pin', pki.server.fingerprint, '--raw-in', '-o', 'json'],
      {
        input: framed.stdoutBytes,
      },
    );
    expect(decoded).toMatchObject({
      code: 0,
      stderr: '',
      stdout: '{"length":3,"text":"a\\nb"}\n{"length":0,"text":""}\n{"length":1,"base64":"/w=="}\n',
    });
  });

  test('--whole sends all of stdin as one frame', async () => {
    const { pki, server } = shared;
    const r = await runCli(
      ['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '--whole', '-o', 'hex'],
      {
        input: 'two\nlines\n',
      },
    );
    expect(r).toMatchObject({ code: 0, stdout: '74776f0a6c696e65730a\n', stderr: '' });
  });

  test('-v reports the connection on stderr: TLS version, cipher, subject, fingerprint, verified', async () => {
    const { pki, server } = shared;
    const r = await runCli(['connect', `localhost:${server.port}`, '--ca', pki.caFile, '-v'], {
      input: 'x\n',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('x\n');
    expect(r.stderr.split('\n')[0]).toMatch(
      new RegExp(
        `^connected to localhost:${server.port}: TLSv1\\.3, TLS_\\w+, CN=localhost, ${pki.server.fingerprint}, verified$`,
      ),
    );
  });

  test('refuses a self-signed server without --ca/--pin/-k, and -k connects with a warning', async () => {
    const pki = await makeTestPki();
    const server = await startServeChild([
      '--cert',
      pki.selfSigned.certFile,
      '--key',
      pki.selfSigned.keyFile,
    ]);
    const target = `127.0.0.1:${server.port}`;
    const refused = await runCli(['connect', target], { input: 'x\n' });
    expect(refused.code).toBe(5);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.split('\n')[0]).toBe(
      `tlsecho: certificate of ${target} is self-signed and not trusted (${pki.selfSigned.fingerprint})`,
    );
    const insecure = await runCli(['connect', target, '-k'], { input: 'x\n' });
    expect(insecure).toMatchObject({ code: 0, stdout: 'x\n' });
    expect(insecure.stderr).toMatch(/^tlsecho: warning: certificate verification is off \(--insecure\)/);
  });

  test('exits 7 after printing every complete frame when the server sends garbage', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 1,
      onFrame: (payload, peer) => peer.socket.write(Buffer.concat([frame(1, payload), Buffer.from([0xff])])),
    });
    const r = await runCli(
      ['connect', `127.0.0.1:${server.port}`, '--packet', '1', '--max-frame', '100', '--ca', pki.caFile],
      {
        input: 'fine\n',
      },
    );
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('fine\n');
    expect(r.stderr.split('\n')[0]).toBe(
      `tlsecho: bad frame from 127.0.0.1:${server.port}: peer declared a 255-byte frame, above the 100-byte maximum`,
    );
  });

  test('pipes 100,000 lines through in bounded memory, printing replies before the input ends', async () => {
    const { pki, server } = shared;
    const dir = await makeTempDir();
    const run = async (lines: number, name: string) => {
      const reportFile = join(dir, `${name}.rss`);
      const child = spawn(
        process.execPath,
        ['--import', RSS_REPORTER, BIN, 'connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile],
        { env: cliEnv({ MAX_RSS_REPORT_FILE: reportFile }), stdio: ['pipe', 'pipe', 'pipe'] },
      );
      onTestFinished(() => void child.kill('SIGKILL'));
      const line = Buffer.from(`${'x'.repeat(990)}\n`);
      const sentHash = createHash('sha256');
      const receivedHash = createHash('sha256');
      let inputDone = false;
      let outputBeforeInputDone = false;
      let received = 0;
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      child.stdout.on('data', (chunk: Buffer) => {
        if (!inputDone) outputBeforeInputDone = true;
        received += chunk.length;
        receivedHash.update(chunk);
      });
      const input = Readable.from(
        (function* () {
          const batch = 64;
          for (let i = 0; i < lines; i += batch) {
            const chunk = Buffer.concat(
              Array.from({ length: Math.min(batch, lines - i) }, (_, j) => {
                const numbered = Buffer.from(line);
                numbered.write(String(i + j).padStart(8, '0'));
                return numbered;
              }),
            );
            sentHash.update(chunk);
            yield chunk;
          }
          inputDone = true;
        })(),
      );
      input.pipe(child.stdin);
      const code = await new Promise<number | null>((resolve) =>
        child.on('close', (exitCode) => resolve(exitCode)),
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(received).toBe(lines * line.length);
      expect(receivedHash.digest('hex')).toBe(sentHash.digest('hex'));
      return { maxRssKb: Number(await readFile(reportFile, 'utf8')), outputBeforeInputDone };
    };
    const baseline = await run(1_000, 'small');
    const big = await run(100_000, 'big');
    // About 100 MB went through. Holding it would cost at least that; streaming costs a few buffers and
    // the garbage collector's slack (about 30 MB measured against a 93 MB baseline).
    const growthMb = (big.maxRssKb - baseline.maxRssKb) / 1024;
    expect(
      growthMb,
      `peak RSS ${baseline.maxRssKb} KiB for 1,000 lines, ${big.maxRssKb} KiB for 100,000`,
    ).toBeLessThan(60);
    expect(big.outputBeforeInputDone).toBe(true);
  }, 120_000);

  test('Ctrl-C (SIGINT) while piping ends the session with exit 130', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
    const child = spawnCli(['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile]);
    child.stdin!.write('still typing\n');
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const result = collect(child, { keepStdinOpen: true });
    child.kill('SIGINT');
    expect(await result).toMatchObject({ code: 130, stdout: '', stderr: 'tlsecho: interrupted\n' });
  });

  test('--help documents the --linger default', async () => {
    const r = await runCli(['connect', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /--linger\s+after stdin closes, wait this long for outstanding replies[\s\S]*\[default: "2s"\]/,
    );
  });
});

// A real pseudo-terminal: tmux runs the CLI, the test types with send-keys and reads the screen.
needs('tmux').describe('tlsecho connect on a terminal', () => {
  async function startTmux(args: string[]) {
    const dir = await makeTempDir();
    // A tmux server of our own, its socket in the temp dir: no clash with anyone's tmux, nothing left behind.
    const socket = join(dir, 'tmux.sock');
    const statusFile = join(dir, 'status');
    const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
    // The session's history goes to the temp dir, not the home of whoever runs the tests.
    const command =
      `cd ${quote(REPO)} && env -u CI NO_COLOR=1 XDG_STATE_HOME=${quote(dir)} ${quote(process.execPath)} bin/tlsecho ${args.map(quote).join(' ')}; ` +
      // Keep the pane open after the exit so that the screen can still be read.
      `echo $? > ${quote(statusFile)}; sleep 600`;
    const tmux = (...tmuxArgs: string[]) => execFile('tmux', ['-S', socket, ...tmuxArgs]);
    await tmux('new-session', '-d', '-x', '120', '-y', '30', command);
    onTestFinished(() =>
      tmux('kill-server').then(
        () => undefined,
        () => undefined,
      ),
    );
    const screen = async () => (await tmux('capture-pane', '-p')).stdout;
    const waitForScreen = async (predicate: (text: string) => boolean, what: string, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await screen();
        if (predicate(text)) return text;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}; it shows:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const waitForExit = async (timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await readFile(statusFile, 'utf8').catch(() => '');
        if (status.trim() !== '') return Number(status.trim());
        if (Date.now() > deadline)
          throw new Error(`the command did not exit; the terminal shows:\n${await screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    return { keys: (...keys: string[]) => tmux('send-keys', ...keys), screen, waitForScreen, waitForExit };
  }

  const lines = (text: string) => text.split('\n').map((line) => line.trimEnd());

  test('type a line and see the reply; replies arrive while typing; Ctrl-D closes and exits 0', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
    const term = await startTmux(['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile]);

    await term.waitForScreen(
      (text) =>
        /connected to 127\.0\.0\.1:\d+: TLSv1\.3, .*verified/.test(text.replace(/\n/g, '')) &&
        lines(text).includes('>'),
      'the summary and the prompt',
    );
    await term.keys('hello from a pty', 'Enter');
    await term.waitForScreen(
      (text) => lines(text).filter((line) => line.endsWith('hello from a pty')).length === 2,
      'the typed line and its echo',
    );

    // A reply that arrives while a line is half typed prints above the prompt; the typing is kept.
    await term.keys('half typ');
    await term.waitForScreen((text) => lines(text).includes('> half typ'), 'the half-typed line');
    const peer = await server.nextPeer();
    peer.reply('pushed by the server');
    const screen = await term.waitForScreen(
      (text) => lines(text).includes('pushed by the server') && lines(text).includes('> half typ'),
      'the pushed reply above the kept input',
    );
    const shown = lines(screen);
    expect(shown.indexOf('pushed by the server')).toBeLessThan(shown.indexOf('> half typ'));

    // Finish the line: it is sent whole.
    await term.keys('ed', 'Enter');
    await term.waitForScreen((text) => lines(text).includes('half typed'), 'the echo of the finished line');

    await term.keys('C-d');
    expect(await term.waitForExit()).toBe(0);
    await term.waitForScreen(
      (text) => /connection to 127\.0\.0\.1:\d+ closed/.test(text),
      'the close report',
    );
    expect(peer.received.map(String)).toEqual(['hello from a pty', 'half typed']);
  }, 60_000);

  test('Ctrl-C clears a half-typed line; on an empty line it interrupts (exit 130)', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
    const term = await startTmux(['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile]);
    await term.waitForScreen((text) => lines(text).includes('>'), 'the prompt');
    await term.keys('never sent');
    await term.waitForScreen((text) => lines(text).includes('> never sent'), 'the typed line');
    await term.keys('C-c');
    await term.waitForScreen((text) => !text.includes('never sent'), 'the line cleared');
    await term.keys('C-c');
    expect(await term.waitForExit()).toBe(130);
    expect((await server.nextPeer()).received).toEqual([]);
  }, 60_000);

  test('an oversized line is refused and the session goes on; a server close ends it with exit 0', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 1,
      onFrame: (payload, peer) => {
        peer.reply(payload);
        if (payload.toString() === 'bye') peer.socket.end();
      },
    });
    const term = await startTmux([
      'connect',
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.caFile,
      '--packet',
      '1',
    ]);
    await term.waitForScreen((text) => lines(text).includes('>'), 'the prompt');
    await term.keys('y'.repeat(300), 'Enter');
    await term.waitForScreen(
      (text) => text.includes('tlsecho: cannot send a 300-byte message: the maximum frame is 255 bytes'),
      'the refusal',
    );
    await term.keys('bye', 'Enter');
    expect(await term.waitForExit()).toBe(0);
    const screen = await term.waitForScreen(
      (text) => /connection to 127\.0\.0\.1:\d+ closed by the server/.test(text),
      'the close report',
    );
    expect(lines(screen).filter((line) => line === 'bye')).toHaveLength(1);
  }, 60_000);
});

describe('connect flags → options', () => {
  const parse = async (args: string[]): Promise<ConnectOptions> =>
    parseThroughMain<ConnectArgs, ConnectOptions>('connect', args, toConnectOptions);

  test.each<[string[], Partial<ConnectOptions>]>([
    [
      [],
      {
        target: { host: 'localhost', port: 7000 },
        packet: 4,
        lingerMs: 2000,
        connectTimeoutMs: 10_000,
        input: 'lines',
        output: 'text',
      },
    ],
    [['[::1]:7443'], { target: { host: '::1', port: 7443 } }],
    [['example.com', '-p', '8000'], { target: { host: 'example.com', port: 8000 } }],
    [['h:1', '--linger', '500ms', '--timeout', '1m'], { lingerMs: 500, timeoutMs: 60_000 }],
    [['h:1', '--connect-timeout', '3'], { connectTimeoutMs: 3000 }],
    [
      ['h:1', '--raw-in', '--output', 'raw', '--packet', '1'],
      { input: 'raw', output: 'raw', packet: 1, maxFrame: 255 },
    ],
    [
      [
        'h:1',
        '--ca',
        'a.crt',
        '--ca',
        'b.crt',
        '--cert',
        'c.crt',
        '--key',
        'c.key',
        '--servername',
        'x',
        '--min-tls',
        '1.3',
      ],
      {
        tls: expect.objectContaining({
          caFiles: ['a.crt', 'b.crt'],
          certFile: 'c.crt',
          keyFile: 'c.key',
          servername: 'x',
          minTls: '1.3',
        }),
      },
    ],
    [['h:1', '-k'], { tls: expect.objectContaining({ insecure: true }) }],
    [['h:1'], { format: 'text' }],
    [['h:1', '--format', 'etf', '--whole'], { format: 'etf', input: 'whole' }],
    [['h:1'], { history: true }],
    [['h:1', '--no-history'], { history: false }],
    [['h:1'], { reconnect: undefined }],
    [['h:1', '--reconnect'], { reconnect: { maxAttempts: 10, initialDelayMs: 500 } }],
    [
      ['h:1', '--reconnect', '--reconnect-max', '0', '--reconnect-delay', '50ms'],
      { reconnect: { maxAttempts: 0, initialDelayMs: 50 } },
    ],
  ])('%j', async (args, expected) => {
    expect(await parse(args)).toMatchObject(expected);
  });

  test.each([
    [['h:1', '--output', 'yaml'], "invalid --output 'yaml': expected text, hex, base64, json, raw"],
    [['h:1', '--cert', 'c.crt'], /--cert and --key go together/],
    [['h:1', '--whole', '--raw-in'], /whole.*raw-in/],
    [['h:1', '--linger', 'soon'], /invalid --linger 'soon'/],
    [['h:1', '--format', 'etf', '--raw-in'], /--format etf and --raw-in cannot go together/],
    [['h:1', '--reconnect', '--reconnect-max', '-1'], /invalid --reconnect-max '-1'/],
    [['h:1', '--reconnect', '--reconnect-max', '2.5'], /invalid --reconnect-max '2.5'/],
    [['h:1', '--reconnect-max', '3'], '--reconnect-max needs --reconnect'],
    [['h:1', '--reconnect-delay', '1s'], '--reconnect-delay needs --reconnect'],
  ])('refuses %j', async (args, message) => {
    await expectUsageError(parse(args), message);
  });
});
