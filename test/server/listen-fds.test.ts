import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { listenFdsFromEnv, pickListenFd } from '../../src/server/listen-fds.js';

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
