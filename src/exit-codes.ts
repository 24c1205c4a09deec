/**
 * The one table of exit codes. The README's and the man page's EXIT STATUS sections copy it, and a test
 * checks that they still do.
 */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  IO: 3,
  CONNECT: 4,
  TLS: 5,
  TIMEOUT: 6,
  PROTOCOL: 7,
  MISMATCH: 8,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Human descriptions, in the order the docs list them. */
export const EXIT_CODE_MEANINGS: ReadonlyArray<{ code: ExitCode; meaning: string }> = [
  { code: ExitCode.OK, meaning: 'success' },
  { code: ExitCode.INTERNAL, meaning: 'internal error (a bug: please report it)' },
  { code: ExitCode.USAGE, meaning: 'usage error: unknown flag, bad value, conflicting options' },
  { code: ExitCode.IO, meaning: 'file or I/O error: unreadable input, unwritable output, existing file' },
  {
    code: ExitCode.CONNECT,
    meaning:
      'connection refused, host unreachable, DNS failure, address in use, or the server closed the connection before every reply came',
  },
  { code: ExitCode.TLS, meaning: 'TLS handshake or certificate verification failure' },
  { code: ExitCode.TIMEOUT, meaning: 'timeout' },
  { code: ExitCode.PROTOCOL, meaning: 'protocol error: oversized, truncated or invalid frame' },
  { code: ExitCode.MISMATCH, meaning: 'check failed: a reply differed from --expect' },
  {
    code: ExitCode.INTERRUPTED,
    meaning:
      'interrupted (SIGINT or SIGTERM) before finishing; serve is the exception: stopped by a signal, it drains its connections and exits 0',
  },
];
