import type { Argv } from 'yargs';
import { parsePin } from '../../certs/fingerprint.js';
import { defaultMaxFrame, validateMaxFrame, type PacketMode } from '../../codec/limits.js';
import type { InputMode } from '../../client/input.js';
import type { ClientConnectionOptions } from '../../client/open-client.js';
import { OUTPUT_MODES, type OutputMode } from '../../client/output.js';
import { PROXY_HEADER_VERSIONS, type ProxyHeaderVersion } from '../../client/proxy-header.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, MESSAGE_FORMATS, type MessageFormat } from '../../client/defaults.js';
import { parseTarget } from '../../client/target.js';
import { parseCiphers, parseMaxTls, type MinTlsVersion } from '../../tls/options.js';
import {
  CLIENT_TLS_FLAGS,
  durationOption,
  PLAIN_HELP,
  plainConflictRule,
  withClientTlsOptions,
  withFramingOptions,
  OUTPUT_GROUP,
  TLS_GROUP,
} from '../option-groups.js';

// Flags that `connect` and `send` share: where to connect, how to trust it, and how messages go in and out.

const CONNECTION_GROUP = 'Connection:';
const INPUT_GROUP = 'Input:';
// An exec health check or probe reaches the backend directly, not through the balancer: it must open its
// connection the way the balancer does, or `serve --proxy-protocol` refuses it.
const PROXY_HEADER_HELP =
  'send a PROXY protocol header (v1 UNKNOWN or v2 LOCAL) before the TLS handshake, for checking a backend that runs serve --proxy-protocol';

/** The parsed flags both client commands read, under the names yargs types them by. */
export interface ClientArgs {
  target?: string;
  port?: number;
  packet?: PacketMode;
  'max-frame'?: number;
  'connect-timeout'?: number;
  'proxy-header'?: ProxyHeaderVersion;
  plain?: boolean;
  ca?: string[];
  pin?: string;
  insecure?: boolean;
  servername?: string;
  cert?: string;
  key?: string;
  'key-passphrase-file'?: string;
  'min-tls'?: MinTlsVersion;
  'max-tls'?: MinTlsVersion;
  ciphers?: string;
  alpn?: string[];
  null?: boolean;
  whole?: boolean;
  'raw-in'?: boolean;
  output?: OutputMode;
  format?: MessageFormat;
  verbose?: boolean;
  color?: boolean;
}

/** Where to connect and how to trust it: what every client command takes (`connect`, `send`, `replay`). */
export function withClientConnectionOptions<T>(y: Argv<T>) {
  // `--ca ca.crt hello` must not read `hello` as a second CA: repeatable flags take one value each time.
  return withClientTlsOptions(withFramingOptions(y.parserConfiguration({ 'greedy-arrays': false })))
    .option('max-tls', {
      type: 'string',
      describe: 'highest TLS version to offer (1.2 or 1.3), to test how the server treats an older client',
      group: TLS_GROUP,
      coerce: parseMaxTls,
    })
    .option('ciphers', {
      type: 'string',
      describe:
        'TLS 1.2 cipher suites to offer, colon-separated OpenSSL names (e.g. ECDHE-RSA-AES128-GCM-SHA256); TLS 1.3 suites are not affected, so add --max-tls 1.2',
      group: TLS_GROUP,
      coerce: parseCiphers,
    })
    .check((argv) => {
      if (argv['max-tls'] === '1.2' && argv['min-tls'] === '1.3') {
        return '--min-tls 1.3 and --max-tls 1.2 leave no TLS version to offer';
      }
      return true;
    })
    .option('port', {
      alias: 'p',
      type: 'number',
      describe: 'port, when the target is only a host (default 7000)',
      group: CONNECTION_GROUP,
    })
    .option('connect-timeout', {
      ...durationOption(
        'give up connecting (TCP and TLS handshake) after this long',
        `${DEFAULT_CONNECT_TIMEOUT_MS / 1000}s`,
        CONNECTION_GROUP,
        { nonZero: true },
      ),
    })
    .option('proxy-header', {
      type: 'string',
      choices: PROXY_HEADER_VERSIONS,
      describe: PROXY_HEADER_HELP,
      group: CONNECTION_GROUP,
    })
    .option('plain', {
      type: 'boolean',
      // No default, as --insecure: never on unless asked for.
      describe: PLAIN_HELP,
      group: CONNECTION_GROUP,
    })
    .check((argv) => plainConflictRule(argv, 'plain', CLIENT_TLS_FLAGS));
}

/** Flags for a client that sends and prints messages (`connect`, `send`): how to connect, then input and output. */
export function withClientOptions<T>(y: Argv<T>) {
  return withClientConnectionOptions(y)
    .option('null', {
      type: 'boolean',

      describe: 'input messages are NUL-separated (as find -print0 writes them)',
      group: INPUT_GROUP,
    })
    .option('whole', {
      type: 'boolean',

      describe: 'send all of the input as one message',
      group: INPUT_GROUP,
    })
    .option('raw-in', {
      type: 'boolean',

      describe: 'input is already framed in the --packet format (e.g. from --output raw)',
      group: INPUT_GROUP,
    })
    .conflicts('null', ['whole', 'raw-in'])
    .conflicts('whole', 'raw-in')
    .option('format', {
      type: 'string',
      choices: MESSAGE_FORMATS,
      default: 'text' as MessageFormat,
      describe:
        'text: messages are sent as their bytes; etf: each message is an Erlang term ({ping, 1}) sent as term_to_binary would, and replies are shown as terms (--output json: as JSON)',
      group: INPUT_GROUP,
    })
    .check((argv) => {
      if (argv.format === 'etf' && argv['raw-in']) {
        return '--format etf and --raw-in cannot go together: --raw-in sends frames as they are, --format etf reads term text';
      }
      return true;
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      choices: OUTPUT_MODES,
      default: 'text' as OutputMode,
      describe:
        'how replies are printed: text (one per line), hex, base64, json (one object per line), raw (framed, for --raw-in)',
      group: OUTPUT_GROUP,
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe:
        "report the connection on stderr: TLS version, cipher, ALPN and the server's certificate chain (subject, issuer, names, validity, fingerprint), and its end",
      group: OUTPUT_GROUP,
    });
}

/** Flags → the options every client needs. Pure: reads no files (the core loads the TLS files). */
export function toClientConnectionOptions(argv: ClientArgs): ClientConnectionOptions {
  const packet = argv.packet ?? 4;
  return {
    target: parseTarget(argv.target, argv.port),
    packet,
    maxFrame: validateMaxFrame(packet, argv['max-frame'] ?? defaultMaxFrame(packet)),
    connectTimeoutMs: argv['connect-timeout'] ?? DEFAULT_CONNECT_TIMEOUT_MS,
    proxyHeader: argv['proxy-header'],
    ...(argv.plain ? { plain: true } : {}),
    tls: {
      caFiles: argv.ca,
      pin: argv.pin === undefined ? undefined : parsePin(argv.pin),
      insecure: argv.insecure ?? false,
      servername: argv.servername,
      certFile: argv.cert,
      keyFile: argv.key,
      keyPassphraseFile: argv['key-passphrase-file'],
      minTls: argv['min-tls'],
      maxTls: argv['max-tls'],
      ciphers: argv.ciphers,
      alpn: argv.alpn,
    },
  };
}

export function toInputMode(argv: Pick<ClientArgs, 'null' | 'whole' | 'raw-in'>): InputMode {
  if (argv.null) return 'null';
  if (argv.whole) return 'whole';
  if (argv['raw-in']) return 'raw';
  return 'lines';
}
