import { readFileSync, readlinkSync } from 'node:fs';
import { UsageError } from '../errors.js';

// systemd socket activation: the service manager (or `systemd-socket-activate`) opens the listening socket,
// keeps it across restarts, and hands it to the service as file descriptor 3 onwards, described by three
// variables. The protocol is sd_listen_fds(3): LISTEN_PID names the process the sockets are meant for (a
// child that inherited the environment must not take them), LISTEN_FDS counts them, and LISTEN_FDNAMES
// names them, colon-separated (FileDescriptorName= in the .socket unit, `unknown` when unset).

/** The first descriptor passed: SD_LISTEN_FDS_START in sd-daemon.h. */
export const SD_LISTEN_FDS_START = 3;

/** The variables of the protocol, which the service unsets once it has read them. */
export const LISTEN_ENV_VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

/** The name `tlsecho serve` takes its socket by when several are passed (FileDescriptorName=tlsecho). */
export const LISTEN_FD_NAME = 'tlsecho';

/** One socket passed by the service manager. */
export interface ListenFd {
  fd: number;
  /** From LISTEN_FDNAMES; `unknown` when the manager gave no names, as sd_listen_fds_with_names does. */
  name: string;
}

/**
 * The sockets the service manager passed to process `pid`, read from `env` as sd_listen_fds(3) does: an
 * empty list when there are none for this process (no LISTEN_FDS, LISTEN_FDS=0, or LISTEN_PID naming another
 * process, such as the parent this environment was inherited from). Throws a UsageError when the variables
 * are malformed, since a unit that means to pass a socket and fails should not quietly bind a port instead.
 */
export function listenFdsFromEnv(env: Record<string, string | undefined>, pid: number): ListenFd[] {
  const pidText = env.LISTEN_PID;
  const countText = env.LISTEN_FDS;
  if (pidText === undefined || countText === undefined) return [];
  const listenPid = parseWhole(pidText);
  if (listenPid === undefined || listenPid === 0) {
    throw new UsageError(`invalid LISTEN_PID '${pidText}': expected a process id`);
  }
  if (listenPid !== pid) return [];
  const count = parseWhole(countText);
  if (count === undefined) {
    throw new UsageError(`invalid LISTEN_FDS '${countText}': expected a number of sockets`);
  }
  const namesText = env.LISTEN_FDNAMES;
  const names = namesText === undefined ? [] : namesText.split(':');
  if (namesText !== undefined && names.length !== count) {
    throw new UsageError(
      `LISTEN_FDNAMES '${namesText}' names ${names.length} sockets but LISTEN_FDS is ${count}`,
    );
  }
  return Array.from({ length: count }, (_, index) => ({
    fd: SD_LISTEN_FDS_START + index,
    name: names[index] || 'unknown',
  }));
}

/**
 * The one socket `tlsecho serve` listens on among those passed: the one named `tlsecho` when any is
 * named so, else the only one. Several candidates are a usage error (the unit is ambiguous), not a guess.
 */
export function pickListenFd(fds: readonly ListenFd[]): ListenFd | undefined {
  if (fds.length === 0) return undefined;
  const named = fds.filter((each) => each.name === LISTEN_FD_NAME);
  const candidates = named.length > 0 ? named : fds;
  if (candidates.length === 1) return candidates[0];
  const which = candidates.map((each) => `${each.fd} (${each.name})`).join(', ');
  throw new UsageError(
    `systemd passed ${candidates.length} sockets (${which}); tlsecho serve listens on one: name it with FileDescriptorName=${LISTEN_FD_NAME} in the .socket unit`,
  );
}

/**
 * Whether descriptor `fd` is a Unix socket (ListenStream=/path), which `tlsecho serve` refuses: its clients
 * have no address to log or put in a PROXY header, and no tlsecho client dials a path. Node cannot ask the
 * socket its family, so this looks for the socket's inode among Linux's Unix sockets (/proc/net/unix);
 * where /proc cannot tell, false, and the server refuses it once listening instead.
 */
export function isUnixSocket(fd: number): boolean {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (inode === undefined) return false;
    // Columns: Num RefCount Protocol Flags Type St Inode [Path].
    return readFileSync('/proc/net/unix', 'latin1')
      .split('\n')
      .some((line) => line.trim().split(/\s+/)[6] === inode);
  } catch {
    return false;
  }
}

/** The one-line refusal of a Unix socket. */
export function unixSocketRefused(fd: number): UsageError {
  return new UsageError(
    `inherited socket ${fd} is a Unix socket; tlsecho serve listens on TCP: use ListenStream=PORT or ListenStream=ADDRESS:PORT in the .socket unit`,
  );
}

// A decimal whole number as sd-daemon's safe_atoi accepts it, without signs, spaces or exponents.
function parseWhole(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
