import type { Argv, CommandModule } from 'yargs';
import type { BenchOptions } from '../../bench/options.js';
import { parsePin } from '../../certs/fingerprint.js';
import type { PacketMode } from '../../codec/limits.js';
import { PROXY_HEADER_VERSIONS, type ProxyHeaderVersion } from '../../client/proxy-header.js';
import { formatTarget, parseTarget } from '../../client/target.js';
import {
  loadClientTlsSettings,
  warnIfInsecure,
  warnPlain,
  type ClientTlsFlags,
} from '../../client/tls-settings.js';
import { UsageError } from '../../errors.js';
import type { MinTlsVersion } from '../../tls/options.js';
import { parseDuration, parseSize } from '../../units.js';
import { useColor, type Io } from '../../io.js';
import { createLogger } from '../../log/logger.js';
import {
  CLIENT_TLS_FLAGS,
  durationOption,
  PLAIN_HELP,
  plainConflictRule,
  withClientTlsOptions,
  withFramingOptions,
  withJsonOption,
} from '../option-groups.js';

const LOAD_GROUP = 'Load:';
const DEFAULT_DURATION = '10s';

/** The flags as yargs hands them over. */
export interface BenchArgs {
  target: string;
  port?: number;
  connections?: number;
  size?: string;
  pipeline?: number;
  duration?: number;
  messages?: number;
  warmup?: number;
  rate?: number;
  handshakes?: boolean;
  threads?: number;
  timeout: number;
  proxyHeader?: ProxyHeaderVersion;
  plain?: boolean;
  packet: PacketMode;
  maxFrame?: number;
  minTls?: MinTlsVersion;
  alpn?: string[];
  ca?: string[];
  pin?: string;
  insecure?: boolean;
  servername?: string;
  cert?: string;
  key?: string;
  keyPassphraseFile?: string;
  json: boolean;
  color?: boolean;
}

/** Everything but the TLS files, which `toBenchOptions`' caller reads. Pure, for table tests. */
export function toBenchOptions(argv: BenchArgs): Omit<BenchOptions, 'tls'> & { tlsFlags: ClientTlsFlags } {
  const target = parseTarget(argv.target, argv.port);
  const connections = positiveInteger(argv.connections ?? 1, '--connections');
  const sizes = parseSizeList(argv.size ?? '64');
  const options: Omit<BenchOptions, 'tls'> & { tlsFlags: ClientTlsFlags } = {
    target: {
      ...target,
      label: formatTarget(target),
      ...(argv.proxyHeader === undefined ? {} : { proxyHeader: argv.proxyHeader }),
      ...(argv.plain ? { plain: true } : {}),
    },
    connections,
    sizes,
    pipeline: positiveInteger(argv.pipeline ?? 1, '--pipeline'),
    durationMs: argv.duration ?? parseDuration(DEFAULT_DURATION),
    warmupMs: argv.warmup ?? 0,
    handshakes: argv.handshakes ?? false,
    threads: positiveInteger(argv.threads ?? 1, '--threads'),
    packet: argv.packet,
    timeoutMs: argv.timeout,
    json: argv.json,
    tlsFlags: {
      minTls: argv.minTls,
      ...(argv.ca === undefined ? {} : { caFiles: argv.ca }),
      ...(argv.pin === undefined ? {} : { pin: parsePin(argv.pin) }),
      ...(argv.insecure ? { insecure: true } : {}),
      ...(argv.servername === undefined ? {} : { servername: argv.servername }),
      ...(argv.cert === undefined ? {} : { certFile: argv.cert }),
      ...(argv.key === undefined ? {} : { keyFile: argv.key }),
      ...(argv.keyPassphraseFile === undefined ? {} : { keyPassphraseFile: argv.keyPassphraseFile }),
      ...(argv.alpn === undefined ? {} : { alpn: argv.alpn }),
    },
  };
  if (options.durationMs <= 0) throw new UsageError('--duration must be longer than zero');
  if (argv.messages !== undefined) options.messages = positiveInteger(argv.messages, '--messages');
  if (argv.rate !== undefined) {
    if (!(argv.rate > 0) || !Number.isFinite(argv.rate)) {
      throw new UsageError(`invalid --rate '${argv.rate}': expected messages per second above zero`);
    }
    options.rate = argv.rate;
  }
  if (argv.maxFrame !== undefined) options.maxFrame = argv.maxFrame;
  if (argv.color !== undefined) options.color = argv.color;
  return options;
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`invalid ${flag} '${value}': expected a whole number of at least 1`);
  }
  return value;
}

/** `64`, `1KiB`, or a comma list such as `64,1KiB,64KiB`: one run per size. */
export function parseSizeList(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) {
    throw new UsageError(`invalid --size '${text}': expected sizes separated by commas, e.g. 64,1KiB`);
  }
  return parts.map((part) => parseSize(part, '--size'));
}

export const benchCommand = (io: Io): CommandModule<object, BenchArgs> => ({
  command: 'bench <target>',
  describe: 'drive a framed echo server and report throughput and latency',
  builder: (y: Argv) =>
    withJsonOption(withClientTlsOptions(withFramingOptions(y)))
      .positional('target', {
        type: 'string',
        describe: 'HOST:PORT of a framed echo server, or HOST with --port',
      })
      // -p is --port here as in serve, connect and send: one meaning per short flag across commands.
      .option('port', {
        alias: 'p',
        type: 'number',
        describe: 'port, when the target is only a host (default 7000)',
        group: 'Connection:',
      })
      .option('connections', {
        alias: 'c',
        type: 'number',
        describe: 'connections to open (default 1)',
        group: LOAD_GROUP,
      })
      .option('size', {
        alias: 's',
        type: 'string',
        describe: 'payload size, or a comma list for one run per size (default 64)',
        group: LOAD_GROUP,
      })
      .option('pipeline', {
        type: 'number',
        describe: 'messages in flight per connection (default 1: ping-pong); with --rate, the most allowed',
        group: LOAD_GROUP,
      })
      .option('duration', {
        ...durationOption(`how long to measure (default ${DEFAULT_DURATION})`, undefined, LOAD_GROUP),
        alias: 'd',
      })
      .option('messages', {
        alias: 'n',
        type: 'number',
        describe: 'send this many messages in all (or handshakes, with --handshakes), instead of a duration',
        group: LOAD_GROUP,
      })
      .option(
        'warmup',
        durationOption(
          'send and check traffic this long before measuring (default 0)',
          undefined,
          LOAD_GROUP,
        ),
      )
      .option('rate', {
        type: 'number',
        describe:
          'offer this many messages per second in all, each at its due time; latency counts from then',
        group: LOAD_GROUP,
      })
      .option('handshakes', {
        type: 'boolean',
        describe: 'a new TLS connection for every message, to measure handshakes per second',
        group: LOAD_GROUP,
      })
      .option('threads', {
        type: 'number',
        describe: 'spread the connections over this many worker threads (default 1)',
        group: LOAD_GROUP,
      })
      .option('timeout', {
        ...durationOption('give up on a handshake or a reply after this long', '10s', LOAD_GROUP, {
          nonZero: true,
        }),
      })
      .option('proxy-header', {
        type: 'string',
        choices: PROXY_HEADER_VERSIONS,
        describe:
          'open every connection with a PROXY protocol header (v1 UNKNOWN or v2 LOCAL), to load a backend that runs serve --proxy-protocol directly',
        group: LOAD_GROUP,
      })
      .option('plain', {
        type: 'boolean',
        describe: PLAIN_HELP,
        group: 'Connection:',
      })
      .check((argv) => {
        // A new connection per message measures TLS handshakes; without TLS there is none to measure.
        if (argv.plain && argv.handshakes) {
          return '--plain and --handshakes cannot go together: --handshakes measures TLS handshakes';
        }
        return plainConflictRule(argv, 'plain', CLIENT_TLS_FLAGS);
      })
      .conflicts('duration', 'messages')
      .conflicts('warmup', 'messages')
      .conflicts('handshakes', ['rate', 'pipeline'])
      .example('$0 bench localhost:7000 --ca certs/ca.crt', '64 B ping-pong on one connection for 10 s')
      .example('$0 bench localhost:7000 --ca certs/ca.crt -s 64,1KiB --pipeline 32', 'a size sweep')
      .example('$0 bench localhost:7000 --ca certs/ca.crt --rate 5000 -d 30s', 'latency at a fixed load')
      .example(
        '$0 bench localhost:7000 --ca certs/ca.crt --handshakes -c 8',
        'handshakes per second',
      ) as never,
  handler: async (argv) => {
    const { tlsFlags, ...rest } = toBenchOptions(argv);
    const tls = await loadClientTlsSettings(tlsFlags, io.cwd);
    const log = createLogger(io.stderr, { json: argv.json, color: useColor(io, argv) });
    warnIfInsecure(tls, log);
    if (rest.target.plain) warnPlain(log);
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    const { bench } = await import('../../bench/bench.js');
    await bench({ ...rest, tls }, io);
  },
});
