import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { createFraming } from '../../src/codec/framing.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startListening } from '../proxy/helpers/listening-child.js';

// `--plain` (and proxy's `--upstream-plain`) against a plain TCP {packet, 4} echo server written with Node
// alone, so the suite covers it without Erlang (test/interop/gen-tcp.test.ts does the same against gen_tcp).

const WARNING =
  'tlsecho: warning: the connection to the server is not encrypted (--plain): anyone between here and the server can read and change this session\n';

interface PlainServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A {packet, 4} server over plain TCP: echoes each frame, or with `silent` reads and never answers. */
async function startPlainServer(options: { silent?: boolean } = {}): Promise<PlainServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  // noDelay as a gen_tcp service would set it ({nodelay, true}): otherwise Nagle and delayed ACKs hold each
  // reply back some 40 ms.
  const server: Server = createServer({ noDelay: true }, (socket) => {
    state.accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const framing = createFraming(4, 1024 * 1024);
    const decoder = framing.createDecoder();
    socket.on('data', (chunk: Buffer) => {
      if (options.silent) return;
      decoder.push(chunk, (frame) => {
        socket.write(Buffer.concat(framing.encoder.encode(frame)));
      });
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get accepted() {
      return state.accepted;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let echo: PlainServer;
beforeAll(async () => {
  echo = await startPlainServer();
});
afterAll(async () => {
  await echo?.close();
});
const target = () => `127.0.0.1:${echo.port}`;

describe('--plain against a plain TCP {packet, 4} server', () => {
  test('send --plain prints each reply, warns once that nothing is encrypted, exits 0', async () => {
    const r = await runCli(['send', target(), '--plain', '--expect-echo', 'hello', 'wörld']);
    expect(r).toMatchObject({ code: 0, stdout: 'hello\nwörld\n', stderr: WARNING });
  });

  test('send --plain --json reports "tls": null and no handshake time', async () => {
    const r = await runCli(['send', target(), '--plain', '--json', 'ping']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown> & { timings: Record<string, unknown> };
    expect(result).toMatchObject({ ok: true, tls: null, sent: 1, received: 1 });
    expect(result.timings.handshakeMs).toBe(0);
    // Under --json the warning is a JSON line, still only one.
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: expect.stringContaining('--plain') });
  });

  test('connect --plain pipes several lines through and says the connection is plain with -v', async () => {
    const r = await runCli(['connect', target(), '--plain', '-v'], { input: 'a\nbb\n\nccc\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('a\nbb\n\nccc\n');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(WARNING.trimEnd());
    expect(r.stderr.split('not encrypted (--plain): anyone')).toHaveLength(2);
    expect(r.stderr).toContain(`connected to ${target()}: plain TCP, NOT encrypted (--plain)\n`);
  });

  test('bench --plain times TCP connects, not handshakes, in its report', async () => {
    const r = await runCli(['bench', target(), '--plain', '-n', '200']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {2}connects {5}1 in all, p50 /);
    expect(r.stdout).not.toContain('handshakes');
  });

  test('bench --plain checks every reply and reports no errors', async () => {
    const r = await runCli(['bench', target(), '--plain', '-n', '500', '--pipeline', '4', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.stringify(JSON.parse(r.stdout));
    expect(report).toMatch(/"received":500/);
    expect(r.stderr.split('\n').filter((line) => line.includes('not encrypted'))).toHaveLength(1);
  });

  test('proxy --upstream-plain relays TLS clients to the plain server, and replay --plain plays it back', async () => {
    const pki = await makeSharedTestPki();
    onTestFinished(() => pki.cleanup());
    const dir = await makeTempDir();
    const file = join(dir, 'session.jsonl');
    const relay = await startListening([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      pki.server.certFile,
      '--key',
      pki.server.keyFile,
      '--upstream-plain',
      '--record',
      file,
      target(),
    ]);
    expect(relay.stderr()).toContain(
      'warning: the connection to the server is not encrypted (--upstream-plain)',
    );
    for (const messages of [['one', 'two'], ['three']]) {
      const r = await runCli(['connect', `localhost:${relay.port}`, '--ca', pki.caFile], {
        input: messages.map((m) => `${m}\n`).join(''),
      });
      expect(r).toMatchObject({ code: 0, stdout: messages.map((m) => `${m}\n`).join(''), stderr: '' });
    }
    await relay.waitFor('stderr', /\[#2\] closed /);
    expect(relay.stderr()).toMatch(/\[#1\] connected to 127\.0\.0\.1:\d+: plain TCP, NOT encrypted/);

    const r = await runCli(['replay', file, target(), '--plain']);
    expect(r).toMatchObject({
      code: 0,
      stdout: '',
      // One warning for the whole replay, not one per recorded connection.
      stderr:
        WARNING +
        'connection 1: 2 frames sent, 2 of 2 replies match\nconnection 2: 1 frame sent, 1 of 1 replies match\n',
    });
  });
});

describe('proxy --listen-plain', () => {
  test('accepts plain TCP clients, makes no certificate, and relays them (here to a plain server too)', async () => {
    const relay = await startListening([
      'proxy',
      '--listen',
      '127.0.0.1:0',
      '--listen-plain',
      '--upstream-plain',
      target(),
    ]);
    // Two warnings, one per side, and no certificate line: none was loaded or made.
    expect(relay.stderr()).toBe(
      'tlsecho: warning: the connection to the server is not encrypted (--upstream-plain): anyone between here and the server can read and change this session\n' +
        'tlsecho: warning: clients connect over plain TCP (--listen-plain): anyone between them and the proxy can read and change their sessions\n' +
        `listening on 127.0.0.1:${relay.port} (packet 4, proxy to ${target()}, plain TCP, NOT encrypted)\n`,
    );
    const r = await runCli(['send', `127.0.0.1:${relay.port}`, '--plain', '--expect-echo', 'via', 'proxy']);
    expect(r).toMatchObject({ code: 0, stdout: 'via\nproxy\n', stderr: WARNING });
    await relay.waitFor('stderr', /\[#1\] closed /);
    expect(relay.stderr()).toMatch(/\[#1\] accepted 127\.0\.0\.1:\d+ plain TCP\n/);
  });

  test('refuses the listener certificate flags, and --min-tls when neither side speaks TLS', async () => {
    const cases: Array<[string[], string]> = [
      [['--cert', 'c', '--key', 'k'], '--listen-plain and --cert'],
      [['--client-ca', 'ca.crt'], '--listen-plain and --client-ca'],
      [['--upstream-plain', '--min-tls', '1.3'], '--listen-plain and --min-tls'],
      [['--upstream-plain', '--min-tls', '1.2'], '--listen-plain and --min-tls'],
    ];
    for (const [flags, both] of cases) {
      const r = await runCli(['proxy', '--listen', '0', '--listen-plain', ...flags, target()]);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(
        `tlsecho: ${both} cannot go together: --listen-plain speaks TCP without TLS`,
      );
    }
  });
});

describe('--plain keeps the exit codes', () => {
  test('refused → 4', async () => {
    const closed = await startPlainServer();
    const port = closed.port;
    await closed.close();
    const r = await runCli(['send', `127.0.0.1:${port}`, '--plain', 'x']);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `${WARNING}tlsecho: connection refused by 127.0.0.1:${port}\nhint: is a server listening there? (tlsecho serve --port N)\n`,
    );
  });

  test('a server that never answers → 6', async () => {
    const silent = await startPlainServer({ silent: true });
    onTestFinished(() => silent.close());
    const r = await runCli(['send', `127.0.0.1:${silent.port}`, '--plain', '--timeout', '300ms', 'x']);
    expect(r.code).toBe(6);
    expect(r.stderr.split('\n')[1]).toBe(
      `tlsecho: timed out after 300ms waiting for replies from 127.0.0.1:${silent.port}: got 0 of 1`,
    );
  });
});

describe('TLS flags with --plain are usage errors naming both flags', () => {
  const cases: Array<[string, string[], string]> = [
    ['send', ['--ca', 'ca.crt'], '--plain and --ca'],
    ['send', ['--pin', `sha256:${'a'.repeat(64)}`], '--plain and --pin'],
    ['send', ['-k'], '--plain and --insecure'],
    ['send', ['--cert', 'c.crt', '--key', 'c.key'], '--plain and --cert'],
    ['send', ['--servername', 'example.test'], '--plain and --servername'],
    ['send', ['--alpn', 'x'], '--plain and --alpn'],
    ['send', ['--min-tls', '1.3'], '--plain and --min-tls'],
    // The default typed out is still a TLS flag the connection cannot honour.
    ['send', ['--min-tls', '1.2'], '--plain and --min-tls'],
    ['send', ['--max-tls', '1.2'], '--plain and --max-tls'],
    ['connect', ['--ca', 'ca.crt'], '--plain and --ca'],
    ['replay', ['--insecure'], '--plain and --insecure'],
    ['bench', ['--pin', `sha256:${'a'.repeat(64)}`], '--plain and --pin'],
    ['bench', ['--handshakes'], '--plain and --handshakes'],
  ];
  test.each(cases)('%s --plain %j → exit 2', async (command, flags, both) => {
    const args =
      command === 'replay'
        ? ['replay', 'none.jsonl', target(), '--plain', ...flags]
        : [command, target(), '--plain', ...flags, ...(command === 'send' ? ['x'] : [])];
    const before = echo.accepted;
    const r = await runCli(args, { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^tlsecho: ${both} cannot go together`));
    // Refused before connecting: the server never saw a connection.
    expect(echo.accepted).toBe(before);
  });

  test('proxy --upstream-plain refuses the server trust flags, and keeps its listener flags', async () => {
    const r = await runCli(['proxy', '--listen', '0', '--upstream-plain', '--ca', 'ca.crt', target()]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'tlsecho: --upstream-plain and --ca cannot go together: --upstream-plain speaks TCP without TLS',
    );
    const r2 = await runCli([
      'proxy',
      '--listen',
      '0',
      '--upstream-plain',
      '--upstream-cert',
      'c',
      '--upstream-key',
      'k',
      target(),
    ]);
    expect(r2.code).toBe(2);
    expect(r2.stderr.split('\n')[0]).toMatch(
      /^tlsecho: --upstream-plain and --upstream-cert cannot go together/,
    );
  });
});
