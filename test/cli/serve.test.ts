import type { ChildProcess } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { toServeOptions, type ServeArgs } from '../../src/cli/commands/serve.js';
import type { ServeOptions } from '../../src/server/serve.js';
import { fingerprintOfDer } from '../../src/certs/fingerprint.js';
import { ExitCode } from '../../src/exit-codes.js';
import { expectUsageError, parseThroughMain } from '../helpers/parse-command.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { frame, ReplyReader, testPki, texts } from '../server/helpers/fixture.js';

async function parseServe(argv: string[]) {
  return parseThroughMain<ServeArgs, ServeOptions>('serve', argv, toServeOptions);
}

describe('serve flags to options', () => {
  test('no flags: 127.0.0.1:7000, packet 4, echo, and the documented limits', async () => {
    expect(await parseServe([])).toMatchObject({
      host: '127.0.0.1',
      port: 7000,
      packet: 4,
      maxFrame: undefined,
      cert: undefined,
      key: undefined,
      keyPassphraseFile: undefined,
      caChain: undefined,
      clientCa: undefined,
      minTls: '1.2',
      alpn: undefined,
      handler: 'echo',
      execFraming: 'line',
      maxConnections: 1000,
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 300_000,
      drainTimeoutMs: 10_000,
      maxAccepts: undefined,
      json: false,
      logLevel: 'info',
      color: true,
    });
  });

  test.each([
    [['--port', '0'], { port: 0 }],
    [['--packet', 'line', '--max-frame', '64KiB'], { packet: 'line', maxFrame: 65_536 }],
    [
      ['--cert', 'a.crt', '--key', 'a.key', '--key-passphrase-file', 'pw'],
      { cert: 'a.crt', key: 'a.key', keyPassphraseFile: 'pw' },
    ],
    [['--client-ca', 'ca.crt', '--ca-chain', 'chain.pem'], { clientCa: 'ca.crt', caChain: 'chain.pem' }],
    [['--min-tls', '1.3', '--alpn', 'echo/1'], { minTls: '1.3', alpn: ['echo/1'] }],
    [['--handler', 'exec:cat', '--exec-framing', 'raw'], { handler: 'exec:cat', execFraming: 'raw' }],
    [['--max-connections', '5', '--max-accepts', '2'], { maxConnections: 5, maxAccepts: 2 }],
    [
      ['--handshake-timeout', '300ms', '--idle-timeout', '2s', '--drain-timeout', '0'],
      { handshakeTimeoutMs: 300, idleTimeoutMs: 2000, drainTimeoutMs: 0 },
    ],
    [['--json', '--verbose'], { json: true, logLevel: 'verbose' }],
    [['-q'], { logLevel: 'error' }],
    [['--handler', 'broadcast'], { handler: 'broadcast', broadcast: { self: false, drop: false } }],
    [
      ['--handler', 'broadcast', '--broadcast-self', '--broadcast-drop'],
      { handler: 'broadcast', broadcast: { self: true, drop: true } },
    ],
  ])('%j', async (argv, expected) => {
    expect(await parseServe(argv)).toMatchObject(expected);
  });

  test.each([
    [['--port', '70000'], "invalid --port '70000': expected a whole number, 0 to 65535"],
    [['--max-connections', '0'], "invalid --max-connections '0': expected a whole number, at least 1"],
    [['--cert', 'a.crt'], '--cert and --key go together: pass both or neither'],
    [['--verbose', '--quiet'], '--verbose and --quiet cannot go together'],
    [['--exec-framing', 'json'], "invalid --exec-framing 'json': expected line, raw"],
    [['--broadcast-self'], '--broadcast-self needs --handler broadcast'],
    [['--handler', 'echo', '--broadcast-drop'], '--broadcast-drop needs --handler broadcast'],
    [
      ['--handler', 'broadcast', '--workers', '2'],
      '--handler broadcast and --workers cannot go together: each worker process has its own clients, so a message would only reach the clients of the worker that received it',
    ],
  ])('refuses %j', async (argv, message) => {
    await expectUsageError(parseServe(argv), message);
  });
});

/** Starts `tlsecho serve` as a child and waits for its readiness line; returns the port it announced. */
async function startServe(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const child = spawnCli(['serve', ...args], options);
  const result = collect(child, { killAfterMs: 20_000 });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on 127\.0\.0\.1:(\d+) /.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`serve exited early:\n${stderr}`)));
  });
  return { child, port, result, stderr: () => stderr };
}

function connectTo(port: number, trust: { ca?: string; pin?: string }) {
  // A pin is checked the way `connect --pin` does: the handshake's certificate must have that fingerprint.
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ...(trust.ca ? { ca: trust.ca } : { rejectUnauthorized: false }),
  });
  onTestFinished(() => {
    socket.destroy();
  });
  return once(socket, 'secureConnect').then(() => {
    if (trust.pin && fingerprintOfDer(socket.getPeerCertificate().raw) !== trust.pin) {
      throw new Error('pin mismatch');
    }
    if (trust.ca && !socket.authorized) throw new Error(String(socket.authorizationError));
    return socket;
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  child.kill(signal);
}

describe('tlsecho serve (child process)', () => {
  test('with no flags it makes an ephemeral certificate and prints its pin and the connect command', async () => {
    const cwd = await makeTempDir();
    // TLSECHO_PORT=0 is the environment form of --port 0: no flag on the command line, and no clash with
    // anything else on port 7000.
    const server = await startServe([], { cwd, env: { TLSECHO_PORT: '0' } });
    const lines = server.stderr().trim().split('\n');
    const pin = /\((sha256:[0-9a-f]{64})\)$/.exec(lines[0] ?? '')?.[1];
    expect(lines).toEqual([
      `no certificate given and none in certs/: using an ephemeral self-signed one for localhost, 127.0.0.1 and ::1 (${pin})`,
      `verify it with: tlsecho connect --pin ${pin} 127.0.0.1:${server.port}`,
      `listening on 127.0.0.1:${server.port} (packet 4, echo)`,
    ]);
    const socket = await connectTo(server.port, { pin });
    const reader = new ReplyReader(socket);
    socket.write(frame('pinned'));
    expect(texts(await reader.until(1))).toEqual(['pinned']);
    socket.end();
    await stop(server.child);
    const result = await server.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
  });

  test('SIGTERM drains an in-flight exchange, then exits 0', async () => {
    const pki = await testPki();
    const cwd = await makeTempDir();
    await writeFile(join(cwd, 'server.crt'), pki.server.certPem);
    await writeFile(join(cwd, 'server.key'), pki.server.keyPem, { mode: 0o600 });
    await writeFile(
      join(cwd, 'slow.mjs'),
      'export default async (m) => { await new Promise((r) => setTimeout(r, 300)); return "done " + m; };\n',
    );
    const server = await startServe(
      ['--port', '0', '--cert', 'server.crt', '--key', 'server.key', '--handler', './slow.mjs', '--verbose'],
      { cwd },
    );
    const socket = await connectTo(server.port, { ca: pki.ca.certPem });
    const reader = new ReplyReader(socket);
    socket.write(frame('work'));
    await new Promise<void>((resolve) => {
      const check = () => {
        if (/received 4 B/.test(server.stderr())) resolve();
        else server.child.stderr!.once('data', check);
      };
      check();
    });
    await stop(server.child, 'SIGTERM');
    expect(texts(await reader.end())).toEqual(['done work']);
    const result = await server.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/SIGTERM: shutting down/);
    expect(result.stderr).toMatch(
      /closed 127\.0\.0\.1:\d+ after .*: shutdown; 1 frame in \(8 B\), 1 out \(13 B\)/,
    );
  });

  test('--max-accepts 1 exits 0 after its one connection has closed', async () => {
    const cwd = await makeTempDir();
    const server = await startServe(['--port', '0', '--max-accepts', '1'], { cwd });
    const pin = /(sha256:[0-9a-f]{64})/.exec(server.stderr())![1];
    const socket = await connectTo(server.port, { pin });
    const reader = new ReplyReader(socket);
    socket.end(frame('once'));
    expect(texts(await reader.end())).toEqual(['once']);
    const result = await server.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /\[#1\] closed .*client closed; 1 frame in \(8 B\), 1 out \(8 B\)\nstopped after 1 connection\n$/,
    );
  });

  test('an address in use is exit 4 and one line naming it', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      blocker.close();
    });
    const port = (blocker.address() as { port: number }).port;
    const result = await runCli(['serve', '--port', String(port)], { cwd: await makeTempDir() });
    expect(result.code).toBe(ExitCode.CONNECT);
    const errorLines = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('hint:'));
    expect(errorLines).toEqual([`tlsecho: cannot listen on 127.0.0.1:${port}: address already in use`]);
  });

  test('a certificate file that does not exist is exit 3 and one line naming it', async () => {
    const cwd = await makeTempDir();
    const result = await runCli(['serve', '--port', '0', '--cert', 'missing.crt', '--key', 'missing.key'], {
      cwd,
    });
    expect(result.code).toBe(ExitCode.IO);
    expect(result.stderr).toBe('tlsecho: cannot read certificate missing.crt: no such file\n');
  });

  test('an encrypted key opens with --key-passphrase-file, and without it says what to pass', async () => {
    const pki = await testPki();
    const cwd = await makeTempDir();
    const encrypted = createPrivateKey(pki.server.keyPem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'correct horse',
    });
    await writeFile(join(cwd, 'server.crt'), pki.server.certPem);
    await writeFile(join(cwd, 'server.key'), encrypted, { mode: 0o600 });
    await writeFile(join(cwd, 'pass.txt'), 'correct horse\n', { mode: 0o600 });

    const refused = await runCli(['serve', '--port', '0', '--cert', 'server.crt', '--key', 'server.key'], {
      cwd,
    });
    expect(refused.code).toBe(ExitCode.IO);
    expect(refused.stderr).toBe(
      'tlsecho: server.key is encrypted and no passphrase was given\nhint: pass --key-passphrase-file FILE\n',
    );

    const server = await startServe(
      [
        '--port',
        '0',
        '--cert',
        'server.crt',
        '--key',
        'server.key',
        '--key-passphrase-file',
        'pass.txt',
        '--max-accepts',
        '1',
      ],
      { cwd },
    );
    const socket = await connectTo(server.port, { ca: pki.ca.certPem });
    const reader = new ReplyReader(socket);
    socket.end(frame('secret'));
    expect(texts(await reader.end())).toEqual(['secret']);
    expect((await server.result).code).toBe(0);
  });

  test('--handler broadcast with --workers is a one-line usage error (exit 2) saying why', async () => {
    const result = await runCli(['serve', '--port', '0', '--handler', 'broadcast', '--workers', '2'], {
      cwd: await makeTempDir(),
    });
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stdout).toBe('');
    // The reason on one line, then the hint every usage error carries.
    expect(result.stderr).toBe(
      'tlsecho: --handler broadcast and --workers cannot go together: each worker process has its own clients, so a message would only reach the clients of the worker that received it\n' +
        "hint: see 'tlsecho serve --help'\n",
    );
  });

  test('a handler module that does not exist is exit 3 before anything listens', async () => {
    const result = await runCli(['serve', '--port', '0', '--handler', './nope.js'], {
      cwd: await makeTempDir(),
    });
    expect(result.code).toBe(ExitCode.IO);
    expect(result.stderr).toMatch(
      /^tlsecho: cannot load handler \.\/nope\.js: no such file \(looked for .*nope\.js\)\n$/,
    );
  });
});
