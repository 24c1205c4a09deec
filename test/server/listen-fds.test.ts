import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { isUnixSocket, listenFdsFromEnv, pickListenFd } from '../../src/server/listen-fds.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const LIBRARY = new URL('../../dist/index.js', import.meta.url).href;

const PID = 4242;

describe('listenFdsFromEnv (sd_listen_fds)', () => {
  test.each([
    ['no variables at all', {}],
    ['LISTEN_FDS without LISTEN_PID', { LISTEN_FDS: '1' }],
    ['LISTEN_PID without LISTEN_FDS', { LISTEN_PID: String(PID) }],
    [
      'LISTEN_PID naming another process (a parent whose environment was inherited)',
      { LISTEN_PID: '4243', LISTEN_FDS: '1' },
    ],
    ['LISTEN_FDS=0', { LISTEN_PID: String(PID), LISTEN_FDS: '0' }],
  ])('%s: no sockets, so serve listens as it would without systemd', (_, env) => {
    expect(listenFdsFromEnv(env, PID)).toEqual([]);
  });

  test('one socket: fd 3, named unknown when LISTEN_FDNAMES is unset', () => {
    expect(listenFdsFromEnv({ LISTEN_PID: String(PID), LISTEN_FDS: '1' }, PID)).toEqual([
      { fd: 3, name: 'unknown' },
    ]);
  });

  test('several sockets count up from fd 3 and take their names in order', () => {
    const env = { LISTEN_PID: String(PID), LISTEN_FDS: '3', LISTEN_FDNAMES: 'admin:tlsecho:' };
    expect(listenFdsFromEnv(env, PID)).toEqual([
      { fd: 3, name: 'admin' },
      { fd: 4, name: 'tlsecho' },
      { fd: 5, name: 'unknown' },
    ]);
  });

  test.each([
    [{ LISTEN_PID: 'self', LISTEN_FDS: '1' }, "invalid LISTEN_PID 'self': expected a process id"],
    [{ LISTEN_PID: '0', LISTEN_FDS: '1' }, "invalid LISTEN_PID '0': expected a process id"],
    [{ LISTEN_PID: '-4242', LISTEN_FDS: '1' }, "invalid LISTEN_PID '-4242': expected a process id"],
    [
      { LISTEN_PID: String(PID), LISTEN_FDS: 'one' },
      "invalid LISTEN_FDS 'one': expected a number of sockets",
    ],
    [
      { LISTEN_PID: String(PID), LISTEN_FDS: '1.5' },
      "invalid LISTEN_FDS '1.5': expected a number of sockets",
    ],
    [{ LISTEN_PID: String(PID), LISTEN_FDS: ' 1' }, "invalid LISTEN_FDS ' 1': expected a number of sockets"],
    [{ LISTEN_PID: String(PID), LISTEN_FDS: '' }, "invalid LISTEN_FDS '': expected a number of sockets"],
    [
      { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'tlsecho' },
      "LISTEN_FDNAMES 'tlsecho' names 1 sockets but LISTEN_FDS is 2",
    ],
  ])('malformed %o is a usage error: %s', (env, message) => {
    expect(() => listenFdsFromEnv(env, PID)).toThrow(new UsageError(message));
  });
});

describe('pickListenFd', () => {
  test('no sockets: none', () => {
    expect(pickListenFd([])).toBeUndefined();
  });

  test('the only socket, whatever its name', () => {
    expect(pickListenFd([{ fd: 3, name: 'web' }])).toEqual({ fd: 3, name: 'web' });
  });

  test('among several, the one named tlsecho', () => {
    const fds = [
      { fd: 3, name: 'admin' },
      { fd: 4, name: 'tlsecho' },
    ];
    expect(pickListenFd(fds)).toEqual({ fd: 4, name: 'tlsecho' });
  });

  test('several with none named tlsecho is a usage error saying how to name one', () => {
    const fds = [
      { fd: 3, name: 'unknown' },
      { fd: 4, name: 'unknown' },
    ];
    expect(() => pickListenFd(fds)).toThrow(
      new UsageError(
        'systemd passed 2 sockets (3 (unknown), 4 (unknown)); tlsecho serve listens on one: name it with FileDescriptorName=tlsecho in the .socket unit',
      ),
    );
  });

  test('two named tlsecho is a usage error too', () => {
    const fds = [
      { fd: 3, name: 'tlsecho' },
      { fd: 4, name: 'tlsecho' },
    ];
    expect(() => pickListenFd(fds)).toThrow(/systemd passed 2 sockets \(3 \(tlsecho\), 4 \(tlsecho\)\)/);
  });
});

/** A listening socket of this process and its descriptor, as systemd would pass one. */
async function listeningFd(where: string | { host: string; port: number }): Promise<number> {
  const server: NetServer = createNetServer();
  onTestFinished(() => {
    server.close();
  });
  server.listen(where);
  await once(server, 'listening');
  // Node keeps the descriptor on its internal handle only.
  return (server as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('a Unix socket passed as the listening socket', () => {
  test('isUnixSocket tells a Unix socket from a TCP one and from a file', async () => {
    const dir = await makeTempDir();
    const unix = await listeningFd(join(dir, 'passed.sock'));
    const tcp = await listeningFd({ host: '127.0.0.1', port: 0 });
    const file = openSync(join(dir, 'plain-file'), 'w');
    onTestFinished(() => closeSync(file));
    expect(isUnixSocket(unix)).toBe(true);
    expect(isUnixSocket(tcp)).toBe(false);
    expect(isUnixSocket(file)).toBe(false);
    expect(isUnixSocket(987_654)).toBe(false);
  });

  // The command line refuses it before listening (test/deploy/socket-activation.test.ts); a library user
  // who passes one gets the same refusal from listen(). A descriptor cannot be owned twice in one process,
  // so the server runs in a child that inherits the socket as descriptor 3, as from systemd.
  test('the server refuses one from listen() with a usage error saying to listen on TCP', async () => {
    const fd = await listeningFd(join(await makeTempDir(), 'passed.sock'));
    const script = `
      import { createServer } from ${JSON.stringify(LIBRARY)};
      createServer({ listenFd: 3 }).listen().then(
        () => console.log('listening'),
        (error) => console.log(error.constructor.name + ': ' + error.message),
      );`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit', fd],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(output).toBe(
      'UsageError: inherited socket 3 is a Unix socket; tlsecho serve listens on TCP: use ListenStream=PORT or ListenStream=ADDRESS:PORT in the .socket unit\n',
    );
    expect(code).toBe(0);
  });
});
