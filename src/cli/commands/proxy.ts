import { checkCertKeyPair } from '../../tls/options.js';
import { isIP } from 'node:net';
import type { Argv, CommandModule } from 'yargs';
import { parsePin } from '../../certs/fingerprint.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, MESSAGE_FORMATS, type MessageFormat } from '../../client/defaults.js';
import { parseTarget } from '../../client/target.js';
import { defaultMaxFrame, parsePacketMode, validateMaxFrame, type PacketMode } from '../../codec/limits.js';
import { UsageError } from '../../errors.js';
import type { Io } from '../../io.js';
import { logLevelFrom } from '../../log/logger.js';
import { DISPLAY_MODES, type DisplayMode } from '../../proxy/frame-display.js';
import type { ProxyOptions } from '../../proxy/proxy.js';
import { SERVER_DEFAULTS } from '../../server/defaults.js';
import type { MinTlsVersion } from '../../tls/options.js';
import {
  durationOption,
  FRAMING_GROUP,
  plainConflictRule,
  OUTPUT_GROUP,
  TLS_GROUP,
  withFramingOptions,
  withJsonOption,
  withServerTrustOptions,
  withTlsPolicyOptions,
  wholeNumberOption,
} from '../option-groups.js';

const LISTEN_GROUP = 'Listening (clients connect here):';
const UPSTREAM_GROUP = 'Server (where frames are relayed to):';
const LIMITS_GROUP = 'Limits:';
// How the proxy trusts the server and proves who it is: meaningless towards a plain TCP server.
// What the proxy shows its clients: meaningless on a plain TCP listener.
const LISTEN_TLS_FLAGS = ['cert', 'key', 'key-passphrase-file', 'client-ca'];
const UPSTREAM_TLS_FLAGS = [
  'ca',
  'pin',
  'insecure',
  'servername',
  'upstream-cert',
  'upstream-key',
  'upstream-key-passphrase-file',
];

export interface ProxyArgs {
  target?: string;
  listen?: string;
  packet?: PacketMode;
  'upstream-packet'?: PacketMode;
  'max-frame'?: number;
  cert?: string;
  key?: string;
  'key-passphrase-file'?: string;
  'client-ca'?: string;
  'min-tls'?: MinTlsVersion;
  alpn?: string[];
  ca?: string[];
  pin?: string;
  insecure?: boolean;
  servername?: string;
  'upstream-cert'?: string;
  'upstream-key'?: string;
  'upstream-key-passphrase-file'?: string;
  'upstream-plain'?: boolean;
  'listen-plain'?: boolean;
  'connect-timeout'?: number;
  'max-connections'?: number;
  'idle-timeout'?: number;
  'drain-timeout'?: number;
  output?: DisplayMode;
  format?: MessageFormat;
  record?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  debug?: boolean;
  color?: boolean;
}

/** `--listen`: `PORT`, `:PORT`, `HOST:PORT` or `[IPv6]:PORT`; the host defaults to 127.0.0.1, port 0 picks one. */
export function parseListen(text: string): { host: string; port: number } {
  const given = text.trim();
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(given);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError(`invalid --listen '${text}': expected [HOST:]PORT, e.g. 7001 or 0.0.0.0:7001`);
  }
  const [, bracketed, plain] = match;
  if (bracketed !== undefined && isIP(bracketed) !== 6) {
    throw new UsageError(`invalid --listen '${text}': [${bracketed}] is not an IPv6 address`);
  }
  if (plain !== undefined && /\s/.test(plain)) {
    throw new UsageError(`invalid --listen '${text}': an address or host name holds no spaces`);
  }
  return { host: bracketed ?? (plain || SERVER_DEFAULTS.host), port };
}

/** Flags → options for `proxy`. Pure, so a table test can cover it. */
export function toProxyOptions(argv: ProxyArgs): ProxyOptions {
  if (argv.listen === undefined) throw new UsageError('proxy needs --listen [HOST:]PORT');
  const { host, port } = parseListen(argv.listen);
  const packet = argv.packet ?? 4;
  const upstreamPacket = argv['upstream-packet'] ?? packet;
  const maxFrame = argv['max-frame'];
  return {
    host,
    port,
    packet,
    maxFrame: maxFrame === undefined ? undefined : validateMaxFrame(packet, maxFrame),
    cert: argv.cert,
    key: argv.key,
    keyPassphraseFile: argv['key-passphrase-file'],
    clientCa: argv['client-ca'],
    minTls: argv['min-tls'] ?? SERVER_DEFAULTS.minTls,
    alpn: argv.alpn,
    maxConnections: argv['max-connections'] ?? SERVER_DEFAULTS.maxConnections,
    handshakeTimeoutMs: SERVER_DEFAULTS.handshakeTimeoutMs,
    idleTimeoutMs: argv['idle-timeout'] ?? SERVER_DEFAULTS.idleTimeoutMs,
    drainTimeoutMs: argv['drain-timeout'] ?? SERVER_DEFAULTS.drainTimeoutMs,
    json: argv.json ?? false,
    logLevel: logLevelFrom(argv),
    color: argv.color ?? true,
    output: argv.output ?? 'text',
    format: argv.format ?? 'text',
    record: argv.record,
    ...(argv['listen-plain'] ? { plain: true } : {}),
    upstream: {
      target: parseTarget(argv.target),
      packet: upstreamPacket,
      maxFrame: validateMaxFrame(upstreamPacket, maxFrame ?? defaultMaxFrame(upstreamPacket)),
      connectTimeoutMs: argv['connect-timeout'] ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ...(argv['upstream-plain'] ? { plain: true } : {}),
      tls: {
        caFiles: argv.ca,
        pin: argv.pin === undefined ? undefined : parsePin(argv.pin),
        insecure: argv.insecure ?? false,
        servername: argv.servername,
        certFile: argv['upstream-cert'],
        keyFile: argv['upstream-key'],
        keyPassphraseFile: argv['upstream-key-passphrase-file'],
        flagNames: {
          cert: '--upstream-cert',
          key: '--upstream-key',
          keyPassphraseFile: '--upstream-key-passphrase-file',
        },
        minTls: argv['min-tls'],
        alpn: argv.alpn,
      },
    },
  };
}

function proxyBuilder(y: Argv) {
  return withJsonOption(
    withServerTrustOptions(
      withTlsPolicyOptions(withFramingOptions(y.parserConfiguration({ 'greedy-arrays': false }))),
    ),
  )
    .positional('target', {
      type: 'string',
      describe: 'the server to relay to: HOST:PORT or [IPv6]:PORT',
    })
    .option('listen', {
      alias: 'l',
      type: 'string',
      demandOption: 'proxy needs --listen [HOST:]PORT',
      describe: 'where clients connect: [HOST:]PORT (host 127.0.0.1 unless given; port 0 picks a free one)',
      group: LISTEN_GROUP,
    })
    .option('cert', {
      type: 'string',
      describe:
        'certificate shown to clients (PEM), as serve --cert; default certs/server.crt with certs/server.key if both exist, else an ephemeral one',
      group: LISTEN_GROUP,
    })
    .option('key', { type: 'string', describe: 'private key file (PEM) of --cert', group: LISTEN_GROUP })
    .option('key-passphrase-file', {
      type: 'string',
      describe: 'file whose first line is the passphrase of an encrypted --key',
      group: LISTEN_GROUP,
    })
    .option('listen-plain', {
      type: 'boolean',
      describe:
        'accept clients over plain TCP, without TLS, as an Erlang gen_tcp listener does: NOT encrypted (prints a warning); no certificate is made, and the certificate flags are refused',
      group: LISTEN_GROUP,
    })
    .option('client-ca', {
      type: 'string',
      describe: 'require client certificates issued by this CA (mutual TLS towards the proxy)',
      group: LISTEN_GROUP,
    })
    .option('upstream-cert', {
      type: 'string',
      describe: 'client certificate the proxy shows the server, for mutual TLS',
      group: TLS_GROUP,
    })
    .option('upstream-key', {
      type: 'string',
      describe: 'private key file of --upstream-cert',
      group: TLS_GROUP,
    })
    .option('upstream-key-passphrase-file', {
      type: 'string',
      describe: 'file whose first line is the passphrase of an encrypted --upstream-key',
      group: TLS_GROUP,
    })
    .option('upstream-plain', {
      type: 'boolean',
      describe:
        'reach the server over plain TCP, without TLS, as an Erlang gen_tcp service in a trusted network: NOT encrypted or verified (prints a warning); the server TLS flags are then refused',
      group: UPSTREAM_GROUP,
    })
    .option('upstream-packet', {
      type: 'string',
      describe: "the server's framing when it differs from the clients' (--packet): 1, 2, 4 or line",
      group: FRAMING_GROUP,
      coerce: parsePacketMode,
    })
    .option('connect-timeout', {
      ...durationOption(
        'give up connecting to the server (TCP and TLS handshake) after this long; the client is then closed',
        `${DEFAULT_CONNECT_TIMEOUT_MS / 1000}s`,
        UPSTREAM_GROUP,
        { nonZero: true },
      ),
    })
    .option('max-connections', {
      type: 'number',
      default: SERVER_DEFAULTS.maxConnections,
      describe: 'client connections open at most; more are refused at once',
      group: LIMITS_GROUP,
      coerce: wholeNumberOption('--max-connections', 1),
    })
    .option(
      'idle-timeout',
      durationOption(
        'close a client connection after this long without a frame either way',
        '5m',
        LIMITS_GROUP,
        { nonZero: true },
      ),
    )
    .option(
      'drain-timeout',
      durationOption(
        "on SIGINT/SIGTERM, and after a client closed its side, how long the server's last replies may take",
        '10s',
        LIMITS_GROUP,
      ),
    )
    .option('output', {
      alias: 'o',
      type: 'string',
      choices: DISPLAY_MODES,
      default: 'text' as DisplayMode,
      describe:
        'how each frame is shown on stdout: text (escaped, one line each), hex, or json (one object per line)',
      group: OUTPUT_GROUP,
    })
    .option('format', {
      type: 'string',
      choices: MESSAGE_FORMATS,
      default: 'text' as MessageFormat,
      describe:
        'etf: show each frame (--output text or json) as the Erlang term it encodes, as binary_to_term reads it; a frame that is not one shows as hex with the reason. Frames are relayed unchanged either way',
      group: OUTPUT_GROUP,
    })
    .option('record', {
      type: 'string',
      describe: 'also write every frame to this file as it passes (JSON lines), for tlsecho replay',
      group: OUTPUT_GROUP,
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: 'also log every frame on stderr (a short escaped preview)',
      group: OUTPUT_GROUP,
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe: 'log errors only, plus the lines needed to connect',
      group: OUTPUT_GROUP,
    })
    .check((argv) => {
      if (argv.verbose && argv.quiet) return '--verbose and --quiet cannot go together';
      // --min-tls and --alpn also shape the listener, so they stay allowed.
      const upstreamPlain = plainConflictRule(argv, 'upstream-plain', UPSTREAM_TLS_FLAGS);
      if (upstreamPlain !== true) return upstreamPlain;
      const listenPlain = plainConflictRule(argv, 'listen-plain', [
        ...LISTEN_TLS_FLAGS,
        // Shared by both sides: meaningless only when neither speaks TLS.
        ...(argv['upstream-plain'] ? ['min-tls', 'alpn'] : []),
      ]);
      if (listenPlain !== true) return listenPlain;
      checkCertKeyPair(argv.cert, argv.key);
      checkCertKeyPair(argv['upstream-cert'], argv['upstream-key'], {
        cert: '--upstream-cert',
        key: '--upstream-key',
      });
      return true;
    })
    .example(
      '$0 proxy --listen 7001 localhost:7000 --ca certs/ca.crt',
      'clients connect to :7001; every frame is shown',
    )
    .example(
      '$0 proxy -l 7001 localhost:7000 --ca ca.crt --record s.jsonl',
      'also record the frames, for tlsecho replay',
    )
    .example(
      '$0 proxy -l 7001 localhost:7000 --ca ca.crt --format etf',
      'show frames as Erlang terms ({ok,42})',
    )
    .example(
      '$0 proxy -l 7001 --packet line --upstream-packet 4 host:7000',
      'line clients, a {packet,4} service',
    );
}

export const proxyCommand = (io: Io): CommandModule<object, ProxyArgs> => ({
  command: 'proxy <target>',
  describe: 'relay clients to a server, showing (and recording) every frame both ways',
  builder: (y) => proxyBuilder(y) as unknown as Argv<ProxyArgs>,
  handler: async (argv) => {
    const options = toProxyOptions(argv);
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    const { proxy } = await import('../../proxy/proxy.js');
    await proxy(options, io);
  },
});
