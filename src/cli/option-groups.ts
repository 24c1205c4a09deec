import type { Argv } from 'yargs';
import { InvalidValueError, UsageError } from '../errors.js';
import { parsePacketMode } from '../codec/limits.js';
import { checkCertKeyPair, parseAlpn, parseMinTls } from '../tls/options.js';
import { parseDuration, parseSize } from '../units.js';

// Shared flag groups: each command composes the ones it needs, so a flag means the same everywhere.

export const FRAMING_GROUP = 'Framing:';
export const TLS_GROUP = 'TLS:';
export const OUTPUT_GROUP = 'Output:';

/** The options every command takes: `--debug` and `--color`. */
export function withGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('debug', {
      type: 'boolean',
      default: false,
      describe: 'show stack traces and causes of errors',
      global: true,
    })
    .option('color', {
      type: 'boolean',
      default: true,
      describe: 'colour diagnostics on a terminal (--no-color to disable)',
      global: true,
    });
}

/** `--packet` and `--max-frame`. */
export function withFramingOptions<T>(y: Argv<T>) {
  return y
    .option('packet', {
      type: 'string',
      default: '4',
      describe:
        'frame header size in bytes (1, 2 or 4, as Erlang {packet, N}), or line for newline-delimited',
      group: FRAMING_GROUP,
      coerce: parsePacketMode,
    })
    .option('max-frame', {
      type: 'string',
      describe:
        'largest frame accepted or sent (default: 255 for packet 1, 65535 for packet 2, 8MiB otherwise)',
      group: FRAMING_GROUP,
      coerce: parseMaxFrame,
    });
}

/**
 * `--max-frame`: a size of at least one byte. At 0 every message but an empty one is refused, which only
 * showed later as `cannot send a 2-byte message: the maximum frame is 0 bytes` (exit 7) or, on a server,
 * as every client's frames failing.
 */
function parseMaxFrame(value: string): number {
  const bytes = parseSize(value, '--max-frame');
  if (bytes < 1) throw new UsageError(`invalid --max-frame '${value}': expected at least 1 byte`);
  return bytes;
}

/** Options both sides of a connection share: `--min-tls` and `--alpn`. */
export function withTlsPolicyOptions<T>(y: Argv<T>) {
  return y
    .option('min-tls', {
      type: 'string',
      // No yargs default: then a check can tell `--plain --min-tls 1.2` (refused) from no --min-tls at all.
      defaultDescription: '1.2',
      describe: 'lowest TLS version to accept (1.2 or 1.3)',
      group: TLS_GROUP,
      coerce: parseMinTls,
    })
    .option('alpn', {
      type: 'string',
      array: true,
      describe: 'ALPN protocol name(s) to offer or accept (repeatable)',
      group: TLS_GROUP,
      coerce: parseAlpn,
    });
}

/** How a client decides to trust a server, and how it proves who it is. */
export function withClientTlsOptions<T>(y: Argv<T>) {
  return withServerTrustOptions(withTlsPolicyOptions(y))
    .option('cert', { type: 'string', describe: 'client certificate file, for mutual TLS', group: TLS_GROUP })
    .option('key', { type: 'string', describe: 'client private key file, for mutual TLS', group: TLS_GROUP })
    .option('key-passphrase-file', {
      type: 'string',
      describe: 'file whose first line is the passphrase of an encrypted --key',
      group: TLS_GROUP,
    })
    .check(certKeyPairRule);
}

/** How a client decides to trust a server: `--ca`, `--pin`, `--insecure`, `--servername`. */
export function withServerTrustOptions<T>(y: Argv<T>) {
  return y
    .option('ca', {
      type: 'string',
      array: true,
      describe: 'also trust this CA certificate file (repeatable), e.g. certs/ca.crt from gencert --ca',
      group: TLS_GROUP,
    })
    .option('pin', {
      type: 'string',
      describe: 'trust exactly the server certificate with this fingerprint (sha256:…, as serve prints)',
      group: TLS_GROUP,
    })
    .option('insecure', {
      alias: 'k',
      type: 'boolean',
      // No default: yargs counts a defaulted flag as given, so `.conflicts('insecure', 'pin')` would refuse every --pin.
      describe: 'do not verify the server certificate (prints a warning)',
      group: TLS_GROUP,
    })
    .option('servername', {
      type: 'string',
      describe: 'host name for SNI and verification (default: the target host)',
      group: TLS_GROUP,
      coerce: parseServername,
    })
    .conflicts('insecure', 'pin');
}

// An empty --servername sent no SNI and verified against nothing useful; one with spaces names no host.
function parseServername(value: string): string {
  if (value === '' || /\s/.test(value)) {
    throw new UsageError(`invalid --servername '${value}': expected a host name, e.g. example.com`);
  }
  return value;
}

/** The `.check()` of every command that takes `--cert` and `--key`: both or neither (see checkCertKeyPair). */
export function certKeyPairRule(argv: { cert?: unknown; key?: unknown }): true {
  checkCertKeyPair(argv.cert, argv.key);
  return true;
}

/** `--json` for machine-readable output. */
export function withJsonOption<T>(y: Argv<T>) {
  return y.option('json', {
    type: 'boolean',
    default: false,
    describe: 'machine-readable output: results as JSON on stdout, diagnostics as JSON lines on stderr',
    group: OUTPUT_GROUP,
  });
}

/**
 * A duration flag (`500ms`, `10s`, `2m`; bare numbers are seconds), parsed to milliseconds. `nonZero` refuses
 * 0 for a limit that would otherwise fail everything at once (a 0 s handshake timeout) or that the server
 * refuses later in its own option names (`invalid idleTimeoutMs 0`).
 */
export function durationOption(
  describe: string,
  defaultValue?: string,
  group?: string,
  limits: { nonZero?: boolean } = {},
) {
  return {
    type: 'string' as const,
    describe,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    ...(group === undefined ? {} : { group }),
    coerce: (value: string) => {
      const ms = parseDuration(value);
      if (limits.nonZero && ms === 0) {
        throw new InvalidValueError(value, 'expected more than zero (e.g. 500ms, 10s)', 'duration');
      }
      return ms;
    },
  };
}

/** A `coerce` for a whole-number flag from `minimum` to `maximum`, naming the flag when the value is not one. */
export function wholeNumberOption(flag: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER) {
  return (value: string | number) => {
    // Digits only: Number() reads '' as 0 (a random port), '1e3' as 1000 and '0x10' as 16.
    const number = /^\d+$/.test(String(value).trim()) ? Number(value) : Number.NaN;
    if (!Number.isInteger(number) || number < minimum || number > maximum) {
      const range = maximum === Number.MAX_SAFE_INTEGER ? `at least ${minimum}` : `${minimum} to ${maximum}`;
      throw new UsageError(`invalid ${flag} '${value}': expected a whole number, ${range}`);
    }
    return number;
  };
}

// The flags that name a file or a folder. An empty one (an unset shell variable, say) read as the current
// folder: `--cert ''` failed with "cannot read certificate : no such file", `--ca ''` and `--record ''` with
// the working folder "is a directory", and `gencert --out ''` wrote into the working folder.
const PATH_FLAGS: Readonly<Record<string, 'file' | 'folder'>> = {
  cert: 'file',
  key: 'file',
  'key-passphrase-file': 'file',
  ca: 'file',
  'client-ca': 'file',
  'ca-chain': 'file',
  'ca-cert': 'file',
  'ca-key': 'file',
  'upstream-cert': 'file',
  'upstream-key': 'file',
  'upstream-key-passphrase-file': 'file',
  file: 'file',
  record: 'file',
  issuer: 'folder',
  out: 'folder',
};

/** Refuses an empty value for a flag that names a file or a folder (see PATH_FLAGS). */
export function checkPathFlag(flag: string, value: unknown): void {
  const kind = PATH_FLAGS[flag];
  if (kind === undefined) return;
  for (const item of Array.isArray(value) ? value : [value]) {
    if (item === '') {
      throw new UsageError(`invalid --${flag} '${item}': expected a ${kind} name`);
    }
  }
}

/** The TLS flags a client takes, in the order a conflict names them. */
export const CLIENT_TLS_FLAGS = [
  'ca',
  'pin',
  'insecure',
  'servername',
  'cert',
  'key',
  'key-passphrase-file',
  'min-tls',
  'max-tls',
  'ciphers',
  'alpn',
] as const;

/** What `--plain` says in --help, for every client command. */
export const PLAIN_HELP =
  'speak the frames over plain TCP, without TLS, as to an Erlang gen_tcp service in a trusted network: NOT encrypted or verified (prints a warning); TLS flags are then refused';

/**
 * A `.check()` rule: with `plainFlag` given, each of `tlsFlags` is a usage error naming both flags, since a
 * connection without TLS cannot honour it.
 */
export function plainConflictRule(
  argv: Record<string, unknown>,
  plainFlag: string,
  tlsFlags: readonly string[],
): true | string {
  if (argv[plainFlag] !== true) return true;
  for (const flag of tlsFlags) {
    const value = argv[flag];
    const given = value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
    if (given) {
      return `--${plainFlag} and --${flag} cannot go together: --${plainFlag} speaks TCP without TLS`;
    }
  }
  return true;
}
