import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toSendOptions, type SendArgs } from '../../src/cli/commands/send.js';
import type { SendOptions } from '../../src/client/send.js';
import { runCli } from '../helpers/run-cli.js';
import { expectUsageError, parseThroughMain } from '../helpers/parse-command.js';
import { frame, startSilentTcpServer, startTestServer, unusedPort } from '../client/helpers/framed-server.js';
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

// `tlsecho send` as a user runs it: a child process, piped stdin, real TLS on loopback, verification on.

describe('tlsecho send against tlsecho serve', () => {
  test('prints each reply on stdout and exits 0', async () => {
    const { pki, server } = shared;
    const r = await runCli(['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, 'hi', 'there']);
    expect(r).toMatchObject({ code: 0, stdout: 'hi\nthere\n', stderr: '' });
  });

  test.each(['1', '2', 'line'])(
    '--packet %s: --expect-echo passes with empty, NUL and non-ASCII messages from stdin',
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
      // Arguments cannot hold a NUL byte, so the messages come from stdin, one per line.
      const r = await runCli(
        [
          'send',
          `localhost:${server.port}`,
          '--packet',
          packet,
          '--ca',
          pki.caFile,
          '--expect-echo',
          '--count',
          '2',
        ],
        { input: 'a\0b\n\nü\n' },
      );
      expect(r).toMatchObject({ code: 0, stdout: 'a\0b\n\nü\na\0b\n\nü\n', stderr: '' });
    },
  );

  test('presents a client certificate to a server that requires one (mutual TLS)', async () => {
    const pki = await makeTestPki();
    const server = await startServeChild([
      '--cert',
      pki.server.certFile,
      '--key',
      pki.server.keyFile,
      '--client-ca',
      pki.caFile,
    ]);
    const target = `127.0.0.1:${server.port}`;
    const withCert = await runCli([
      'send',
      target,
      '--ca',
      pki.caFile,
      '--cert',
      pki.client.certFile,
      '--key',
      pki.client.keyFile,
      'me',
    ]);
    expect(withCert).toMatchObject({ code: 0, stdout: 'me\n', stderr: '' });
    const without = await runCli(['send', target, '--ca', pki.caFile, 'anonymous']);
    expect(without.code).toBe(5);
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/^tlsecho: .*(client certificate|handshake)/);
  });

  test('--json prints one result object with timings', async () => {
    const { pki, server } = shared;
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--pin',
      pki.server.fingerprint,
      '--json',
      'ping',
      '--count',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      target: `127.0.0.1:${server.port}`,
      ok: true,
      tls: { fingerprint: pki.server.fingerprint, verified: true },
      replies: [
        { length: 4, text: 'ping' },
        { length: 4, text: 'ping' },
        { length: 4, text: 'ping' },
      ],
      sent: 3,
      received: 3,
    });
    expect(Object.keys(result.timings)).toEqual(['connectMs', 'handshakeMs', 'firstReplyMs', 'totalMs']);
  });

  test('reads one message per line from stdin when none are given', async () => {
    const { pki, server } = shared;
    const r = await runCli(['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '--output', 'hex'], {
      input: 'ab\n\ncd',
    });
    expect(r).toMatchObject({ code: 0, stdout: '6162\n\n6364\n', stderr: '' });
  });
});

describe('tlsecho send exit codes', () => {
  test('8 when a reply differs from --expect, with both sides on one line', async () => {
    const { pki, server } = shared;
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.caFile,
      'hello',
      '--expect',
      'hallo',
    ]);
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe(
      'tlsecho: reply 1 differs from --expect: expected "hallo" (5 bytes) but got "hello" (5 bytes) (first difference at byte 1)\n',
    );
  });

  test('6 when the replies do not come within --timeout', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onFrame: () => {},
    });
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.caFile,
      '--timeout',
      '300ms',
      'anyone?',
    ]);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `tlsecho: timed out after 300ms waiting for replies from 127.0.0.1:${server.port}: got 0 of 1\n` +
        'hint: no reply at all: if the server frames messages differently (e.g. Erlang {packet, 4}, or lines), match it with --packet (this run: --packet 4)\n',
    );
  });

  test('6 when the TLS handshake does not complete within --connect-timeout', async () => {
    const { port } = await startSilentTcpServer();
    const r = await runCli(['send', `127.0.0.1:${port}`, '--connect-timeout', '300ms', 'x']);
    expect(r.code).toBe(6);
    expect(r.stderr.split('\n')[0]).toBe(`tlsecho: no TLS handshake from 127.0.0.1:${port} within 300ms`);
  });

  test('4 when the connection is refused', async () => {
    const port = await unusedPort();
    const r = await runCli(['send', `127.0.0.1:${port}`, 'x']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(`tlsecho: connection refused by 127.0.0.1:${port}`);
  });

  test('5 for a self-signed certificate without --ca, --pin or -k; the hint names the pin to use', async () => {
    const pki = await makeTestPki();
    const server = await startServeChild([
      '--cert',
      pki.selfSigned.certFile,
      '--key',
      pki.selfSigned.keyFile,
    ]);
    const r = await runCli(['send', `127.0.0.1:${server.port}`, 'x']);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    const [message, hint] = r.stderr.trimEnd().split('\n');
    expect(message).toBe(
      `tlsecho: certificate of 127.0.0.1:${server.port} is self-signed and not trusted (${pki.selfSigned.fingerprint})`,
    );
    expect(hint).toContain(`--pin ${pki.selfSigned.fingerprint}`);
  });

  test('5 for a wrong pin, printing the fingerprint that was seen', async () => {
    const { pki, server } = shared;
    const r = await runCli(['send', `127.0.0.1:${server.port}`, '--pin', pki.selfSigned.fingerprint, 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr.split('\n')[0]).toBe(
      `tlsecho: certificate of 127.0.0.1:${server.port} does not match the pin: saw ${pki.server.fingerprint}`,
    );
  });

  test('5 for an expired certificate, even from a trusted CA', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.expired.certPem, key: pki.expired.keyPem });
    const r = await runCli(['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      new RegExp(`^tlsecho: certificate of 127\\.0\\.0\\.1:${server.port} expired on .+\\n$`),
    );
  });

  test('7 for a protocol error, after printing every complete frame received', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 2,
      onFrame: (payload, peer) =>
        peer.socket.end(
          Buffer.concat([frame(2, payload), frame(2, 'then'), Buffer.from([0x00, 0x09, 0x61])]),
        ),
    });
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--packet',
      '2',
      '--ca',
      pki.caFile,
      '--replies',
      '3',
      'first',
    ]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('first\nthen\n');
    expect(r.stderr.split('\n')[0]).toBe(
      `tlsecho: bad frame from 127.0.0.1:${server.port}: stream ended inside a frame: 8 of 9 bytes missing`,
    );
  });

  test('-k works against a self-signed server and warns on stderr every time', async () => {
    const pki = await makeTestPki();
    const server = await startServeChild([
      '--cert',
      pki.selfSigned.certFile,
      '--key',
      pki.selfSigned.keyFile,
    ]);
    for (let run = 0; run < 2; run++) {
      const r = await runCli(['send', `127.0.0.1:${server.port}`, '-k', 'unsafe']);
      expect(r).toMatchObject({ code: 0, stdout: 'unsafe\n' });
      expect(r.stderr).toMatch(/^tlsecho: warning: certificate verification is off \(--insecure\)/);
    }
  });

  test('2 for a malformed pin, before connecting', async () => {
    const r = await runCli(['send', '127.0.0.1:9', '--pin', 'sha256:nope', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      "tlsecho: invalid pin 'sha256:nope': expected sha256: followed by 64 hex digits",
    );
  });
});

describe('send flags → options', () => {
  const parse = async (args: string[]): Promise<SendOptions> =>
    parseThroughMain<SendArgs, SendOptions>('send', args, toSendOptions);

  test.each<[string[], Partial<SendOptions>]>([
    [
      ['h:1', 'a', 'b'],
      { target: { host: 'h', port: 1 }, messages: ['a', 'b'], count: 1, wait: true, timeoutMs: 10_000 },
    ],
    [['h', '--port', '9', '123'], { target: { host: 'h', port: 9 }, messages: ['123'] }],
    [
      ['h:1', '--ca', 'ca.crt', 'hello'],
      { messages: ['hello'], tls: expect.objectContaining({ caFiles: ['ca.crt'] }) },
    ],
    [['h:1', '--expect', 'a', '--expect', 'b', 'x', 'y'], { expect: ['a', 'b'], messages: ['x', 'y'] }],
    [['h:1', '--no-wait', 'x'], { wait: false }],
    [['h:1', '--count', '5', '--replies', '2', '--timeout', '2s'], { count: 5, replies: 2, timeoutMs: 2000 }],
    [['h:1', '--null'], { input: 'null' }],
    [['h:1', '--whole', '-o', 'json'], { input: 'whole', output: 'json' }],
    [['h:1', '--raw-in', '--packet', '2'], { input: 'raw', packet: 2, maxFrame: 65535 }],
    [['h:1', '--packet', 'line', '--max-frame', '1KiB'], { packet: 'line', maxFrame: 1024 }],
    [
      ['h:1', '--pin', 'SHA256:' + 'AB'.repeat(32)],
      { tls: expect.objectContaining({ pin: `sha256:${'ab'.repeat(32)}` }) },
    ],
    [['h:1', '--json', '--expect-echo', '-f', 'm.txt'], { json: true, expectEcho: true, file: 'm.txt' }],
    [['h:1', 'x'], { format: 'text' }],
    [
      ['h:1', '--format', 'etf', '{ping, 1}', '--expect', '{ok,{ping,1}}', '-o', 'json'],
      { format: 'etf', messages: ['{ping, 1}'], expect: ['{ok,{ping,1}}'], output: 'json' },
    ],
  ])('%j', async (args, expected) => {
    expect(await parse(args)).toMatchObject(expected);
  });

  test.each([
    [['h:1', '--null', '--whole'], /null.*whole/],
    [['h:1', '--expect', 'a', '--expect-echo'], /expect.*expect-echo/],
    [['h:1', '--no-wait', '--expect', 'a'], /--no-wait and --expect cannot go together/],
    [['h:1', '-f', 'm.txt', 'inline'], /--file cannot go together/],
    [['h:1', '--count', '0'], /invalid --count 0/],
    [['h:1', '--packet', '1', '--max-frame', '300'], /above the 255-byte limit/],
    [['h:1', '-k', '--pin', `sha256:${'0'.repeat(64)}`], /insecure.*pin/],
    [['h:1', '--format', 'json'], "invalid --format 'json': expected text, etf"],
    [['h:1', '--format', 'etf', '--raw-in'], /--format etf and --raw-in cannot go together/],
  ])('refuses %j', async (args, message) => {
    await expectUsageError(parse(args), message);
  });
});
