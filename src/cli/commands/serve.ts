import type { Argv, CommandModule } from 'yargs';
import type { PacketMode } from '../../codec/limits.js';
import { UsageError } from '../../errors.js';
import { parseWorkers } from '../workers-option.js';
import {
  BROADCAST_WORKERS_CONFLICT,
  EXEC_FRAMINGS,
  SERVER_DEFAULTS,
  type ExecFraming,
} from '../../server/defaults.js';
import type { ServeOptions } from '../../server/serve.js';
import type { MinTlsVersion } from '../../tls/options.js';
import type { Io } from '../../io.js';
import { logLevelFrom } from '../../log/logger.js';
import {
  isUnixSocket,
  LISTEN_ENV_VARS,
  listenFdsFromEnv,
  pickListenFd,
  unixSocketRefused,
  type ListenFd,
} from '../../server/listen-fds.js';
import {
  certKeyPairRule,
  durationOption,
  wholeNumberOption,
  OUTPUT_GROUP,
  TLS_GROUP,
  withFramingOptions,
  withJsonOption,
  withTlsPolicyOptions,
} from '../option-groups.js';

const LIMITS_GROUP = 'Limits:';
const HANDLER_GROUP = 'Handler:';
const DEPLOYMENT_GROUP = 'Deployment:';

/** The flags as yargs hands them over, coerced. */
export interface ServeArgs {
  /** Undefined when not given, so a socket from systemd can tell an explicit --host from the default. */
  host?: string;
  port?: number;
  packet: PacketMode;
  maxFrame?: number;
  minTls?: MinTlsVersion;
  alpn?: string[];
  cert?: string;
  key?: string;
  keyPassphraseFile?: string;
  caChain?: string;
  clientCa?: string;
  handler: string;
  execFraming: ExecFraming;
  broadcastSelf: boolean;
  broadcastDrop: boolean;
  maxConnections: number;
  handshakeTimeout: number;
  idleTimeout: number;
  drainTimeout: number;
  maxAccepts?: number;
  workers?: number;
  proxyProtocol: boolean;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  debug?: boolean;
  color?: boolean;
}

/** Flags in, options out: pure, so a table test can pin every mapping. */
export function toServeOptions(argv: ServeArgs): ServeOptions {
  return {
    host: argv.host ?? SERVER_DEFAULTS.host,
    port: argv.port ?? SERVER_DEFAULTS.port,
    packet: argv.packet,
    maxFrame: argv.maxFrame,
    cert: argv.cert,
    key: argv.key,
    keyPassphraseFile: argv.keyPassphraseFile,
    caChain: argv.caChain,
    clientCa: argv.clientCa,
    minTls: argv.minTls ?? SERVER_DEFAULTS.minTls,
    alpn: argv.alpn,
    handler: argv.handler,
    execFraming: argv.execFraming,
    broadcast:
      argv.handler.trim() === 'broadcast'
        ? { self: argv.broadcastSelf, drop: argv.broadcastDrop }
        : undefined,
    maxConnections: argv.maxConnections,
    handshakeTimeoutMs: argv.handshakeTimeout,
    idleTimeoutMs: argv.idleTimeout,
    drainTimeoutMs: argv.drainTimeout,
    maxAccepts: argv.maxAccepts,
    proxyProtocol: argv.proxyProtocol,
    json: argv.json,
    logLevel: logLevelFrom(argv),
    color: argv.color ?? true,
  };
}

// Node listens on every interface when the host is empty: an empty --host (an unset shell variable, say)
// must not quietly turn a loopback server into a public one.
function parseListenHost(value: string): string {
  if (value.trim() === '') {
    throw new UsageError(
      "invalid --host '': name the address to listen on (127.0.0.1, or 0.0.0.0 or :: for every interface)",
    );
  }
  // No address or host name holds white space: binding one only ended in "cannot resolve" (exit 4).
  if (/\s/.test(value.trim())) {
    throw new UsageError(`invalid --host '${value}': an address or host name holds no spaces`);
  }
  return value;
}

function serveBuilder(y: Argv) {
  return withJsonOption(withTlsPolicyOptions(withFramingOptions(y)))
    .option('host', {
      type: 'string',
      // No yargs default: with a socket from systemd an explicit --host is an error, the default is not.
      defaultDescription: JSON.stringify(SERVER_DEFAULTS.host),
      describe: 'address to listen on (0.0.0.0 or :: for every interface)',
      coerce: parseListenHost,
    })
    .option('port', {
      alias: 'p',
      type: 'string',
      defaultDescription: JSON.stringify(String(SERVER_DEFAULTS.port)),
      describe: 'port to listen on; 0 picks a free one (the "listening on" line names it)',
      coerce: wholeNumberOption('--port', 0, 65535),
    })
    .option('cert', {
      type: 'string',
      describe:
        'certificate file (PEM), then any intermediates; default certs/server.crt with certs/server.key if both exist, else an ephemeral one',
      group: TLS_GROUP,
    })
    .option('key', { type: 'string', describe: 'private key file (PEM) of --cert', group: TLS_GROUP })
    .option('key-passphrase-file', {
      type: 'string',
      describe:
        'file whose first line is the passphrase of an encrypted --key (asked for on a terminal otherwise)',
      group: TLS_GROUP,
    })
    .option('ca-chain', {
      type: 'string',
      describe: 'intermediate CA certificates to send after --cert',
      group: TLS_GROUP,
    })
    .option('client-ca', {
      type: 'string',
      describe: 'require client certificates issued by this CA (mutual TLS)',
      group: TLS_GROUP,
    })
    .option('handler', {
      type: 'string',
      default: 'echo',
      describe:
        'echo, etf-echo (Erlang terms: replies {ok, Term}), broadcast (each message to every other client), exec:COMMAND (one process per connection), or a module such as ./handler.js',
      group: HANDLER_GROUP,
    })
    .option('exec-framing', {
      type: 'string',
      choices: EXEC_FRAMINGS,
      default: 'line',
      describe: 'exec: one line per message on stdin/stdout, or raw frames both ways',
      group: HANDLER_GROUP,
    })
    .option('broadcast-self', {
      type: 'boolean',
      default: false,
      describe: 'broadcast: send each message back to its sender too',
      group: HANDLER_GROUP,
    })
    .option('broadcast-drop', {
      type: 'boolean',
      default: false,
      describe:
        'broadcast: drop (and count) messages for a client more than 64 KiB behind, instead of disconnecting it',
      group: HANDLER_GROUP,
    })
    .option('max-connections', {
      type: 'string',
      default: String(SERVER_DEFAULTS.maxConnections),
      describe: 'open connections at most; more are refused at once',
      group: LIMITS_GROUP,
      coerce: wholeNumberOption('--max-connections', 1),
    })
    .option(
      'handshake-timeout',
      durationOption('time a client has to complete the TLS handshake', '10s', LIMITS_GROUP, {
        nonZero: true,
      }),
    )
    .option(
      'idle-timeout',
      durationOption(
        'close a connection after this long without a complete message or reply (a frame trickling in does not count)',
        '5m',
        LIMITS_GROUP,
        { nonZero: true },
      ),
    )
    .option(
      'drain-timeout',
      durationOption(
        'on SIGINT/SIGTERM, how long open connections get to finish; also how long an exec: child may run after its input ended',
        '10s',
        LIMITS_GROUP,
      ),
    )
    .option('max-accepts', {
      type: 'string',
      describe: 'exit (0) after this many connections have been served',
      group: LIMITS_GROUP,
      coerce: wholeNumberOption('--max-accepts', 1),
    })
    .option('workers', {
      type: 'string',
      describe:
        'run N worker processes sharing the port (auto: one per core); a worker that dies is restarted',
      group: DEPLOYMENT_GROUP,
      coerce: parseWorkers,
    })
    .option('proxy-protocol', {
      type: 'boolean',
      default: false,
      describe:
        'expect a PROXY protocol v1/v2 header (HAProxy send-proxy, nginx proxy_protocol) before each handshake; log the client it names and refuse connections without one',
      group: DEPLOYMENT_GROUP,
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: 'also log every message (a short escaped preview)',
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe:
        'log errors only, plus the lines needed to connect (listening address; for an ephemeral certificate, its fingerprint and the connect command)',
    })
    .check((argv) => {
      if (argv.verbose && argv.quiet) throw new UsageError('--verbose and --quiet cannot go together');
      return true;
    })
    .check(certKeyPairRule)
    .check((argv) => {
      if (argv['key-passphrase-file'] !== undefined && argv.key === undefined) {
        throw new UsageError('--key-passphrase-file needs --key');
      }
      const broadcast = argv.handler.trim() === 'broadcast';
      if (broadcast && argv.workers !== undefined) throw new UsageError(BROADCAST_WORKERS_CONFLICT);
      for (const flag of ['broadcast-self', 'broadcast-drop'] as const) {
        if (argv[flag] && !broadcast) throw new UsageError(`--${flag} needs --handler broadcast`);
      }
      return true;
    })
    .group(['host', 'port'], 'Listening:')
    .group(['verbose', 'quiet'], OUTPUT_GROUP)
    .example('$0 serve', 'echo on 127.0.0.1:7000 with certs/server.crt (or an ephemeral certificate)')
    .example('$0 serve --packet 2 --client-ca certs/ca.crt', '2-byte headers, mutual TLS')
    .example(
      "$0 serve --handler 'exec:sed -u s/ping/pong/'",
      'one process per connection, a line per message',
    )
    .example(
      'systemd-socket-activate -l 7000 $0 serve',
      'on the socket systemd passes (LISTEN_FDS, see docs/deploy.md)',
    );
}

/**
 * The socket systemd passed this process (socket activation), if any, and the variables that describe it
 * unset, as sd_listen_fds(1) does: exec: children and --workers workers inherit the environment and must
 * not take a socket meant for this process. The unit's ListenStream= sets the address then, so an explicit
 * --host or --port is a mistake to point out, not a choice to guess between.
 */
export function takeListenFd(
  argv: Pick<ServeArgs, 'host' | 'port'>,
  io: Io,
  pid: number,
): number | undefined {
  let passed: ListenFd | undefined;
  try {
    passed = pickListenFd(listenFdsFromEnv(io.env, pid));
  } finally {
    for (const name of LISTEN_ENV_VARS) delete io.env[name];
  }
  if (passed === undefined) return undefined;
  const given = (['host', 'port'] as const).filter((flag) => argv[flag] !== undefined);
  if (given.length > 0) {
    throw new UsageError(
      `${given.map((flag) => `--${flag}`).join(' and ')} cannot go with the socket systemd passed (fd ${passed.fd}, LISTEN_FDS): its address comes from ListenStream= in the .socket unit`,
    );
  }
  // Before any worker starts: a worker cannot even listen on one (bind EINVAL), which says nothing useful.
  if (isUnixSocket(passed.fd)) throw unixSocketRefused(passed.fd);
  return passed.fd;
}

export const serveCommand = (io: Io): CommandModule<object, ServeArgs> => ({
  command: 'serve',
  describe: 'run a TLS server that handles framed messages (echo by default)',
  builder: (y) => serveBuilder(y) as unknown as Argv<ServeArgs>,
  handler: async (argv) => {
    const options = { ...toServeOptions(argv), listenFd: takeListenFd(argv, io, process.pid) };
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    if (argv.workers === undefined) {
      const { serve } = await import('../../server/serve.js');
      await serve(options, io);
    } else {
      const { serveWithWorkers } = await import('../../server/serve-workers.js');
      // Each worker runs this same command line again, and finds out from its environment that it is one.
      const [, script, ...args] = process.argv;
      await serveWithWorkers(
        { ...options, handler: argv.handler, workers: argv.workers, workerExec: script!, workerArgs: args },
        io,
      );
    }
  },
});
