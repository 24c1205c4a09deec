import type { CommandModule } from 'yargs';
import { DEFAULT_LINGER_MS } from '../../client/defaults.js';
import type { ConnectOptions } from '../../client/connect-session.js';
import {
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_RECONNECT_MAX,
  MAX_RECONNECT_DELAY_MS,
} from '../../client/reconnect.js';
import type { Io } from '../../io.js';
import { durationOption } from '../option-groups.js';
import {
  toClientConnectionOptions,
  toInputMode,
  withClientOptions,
  type ClientArgs,
} from './client-flags.js';

export interface ConnectArgs extends ClientArgs {
  linger?: number;
  wait?: boolean;
  timeout?: number;
  history?: boolean;
  record?: string;
  reconnect?: boolean;
  'reconnect-max'?: number;
  'reconnect-delay'?: number;
}

/** Flags → options for `connectSession`. Pure, so a table test can cover it. */
export function toConnectOptions(argv: ConnectArgs): ConnectOptions {
  return {
    ...toClientConnectionOptions(argv),
    input: toInputMode(argv),
    output: argv.output ?? 'text',
    format: argv.format ?? 'text',
    lingerMs: argv.linger ?? DEFAULT_LINGER_MS,
    wait: argv.wait ?? true,
    timeoutMs: argv.timeout,
    verbose: argv.verbose ?? false,
    color: argv.color ?? true,
    history: argv.history ?? true,
    record: argv.record,
    reconnect: argv.reconnect
      ? {
          maxAttempts: argv['reconnect-max'] ?? DEFAULT_RECONNECT_MAX,
          initialDelayMs: argv['reconnect-delay'] ?? DEFAULT_RECONNECT_DELAY_MS,
        }
      : undefined,
  };
}

export const connectCommand = (io: Io): CommandModule<object, ConnectArgs> => ({
  command: 'connect [target]',
  describe: 'open an interactive session, or pipe stdin through a server',
  builder: (y) =>
    withClientOptions(
      y
        .positional('target', {
          type: 'string',
          describe: 'HOST:PORT, [IPv6]:PORT, or HOST with --port (default localhost:7000)',
        })
        // After the options, so that --help opens with the one-line purpose as the other commands do.
        .epilogue(
          'On a terminal: a prompt where each line you enter is sent as one frame and replies print as they ' +
            'arrive; Ctrl-D closes.\n\n' +
            'With stdin piped: each input line is sent as one frame (the newline is not sent; every other byte ' +
            'is, a \\r before it included), or each --null/--whole/--raw-in message; replies go to stdout as ' +
            'they arrive. The command ends once stdin has closed and every frame has had its reply (exit 0). ' +
            'If replies are still missing when --linger has passed with nothing arriving, it exits 6; if the ' +
            'server closes with replies missing, 4; either way one line says how many are missing. With ' +
            '--no-wait, replies are optional: it ends after the linger, or when the server closes, with exit 0.\n\n' +
            'With --reconnect, a connection that drops is opened again (verified as the first), with one stderr ' +
            'line per attempt; piped, the messages whose replies had not arrived are sent again first, and a ' +
            "last line says how many. Out of attempts, it exits with the last failure's code (4, 5 or 6).",
        ),
    )
      .option('linger', {
        ...durationOption(
          'after stdin closes, wait this long for outstanding replies (reset by each reply)',
          `${DEFAULT_LINGER_MS / 1000}s`,
          'Connection:',
        ),
      })
      .option('wait', {
        type: 'boolean',
        default: true,
        describe:
          'piped: every frame expects a reply, and missing replies fail the run (--no-wait: replies are optional)',
        group: 'Connection:',
      })
      .option('timeout', {
        ...durationOption(
          'give up on the whole session after this long (default: no limit)',
          undefined,
          'Connection:',
        ),
      })
      .option('reconnect', {
        type: 'boolean',
        default: false,
        describe:
          'when the connection drops (server restart, reset, close), connect again with back-off, verified as the first time; piped, messages whose replies had not arrived are sent again',
        group: 'Connection:',
      })
      .option('reconnect-max', {
        type: 'number',
        describe: `with --reconnect: attempts after each drop before giving up (default ${DEFAULT_RECONNECT_MAX}; 0: no limit, --timeout still applies)`,
        group: 'Connection:',
      })
      .option('reconnect-delay', {
        ...durationOption(
          `with --reconnect: wait before the first attempt, doubled after each failure up to ${MAX_RECONNECT_DELAY_MS / 1000}s, with random jitter (default ${DEFAULT_RECONNECT_DELAY_MS}ms)`,
          undefined,
          'Connection:',
        ),
      })
      .check((argv) => {
        const max = argv['reconnect-max'];
        if (max !== undefined && (!Number.isInteger(max) || max < 0)) {
          return `invalid --reconnect-max '${max}': expected a whole number of attempts, 0 (no limit) or more`;
        }
        for (const flag of ['reconnect-max', 'reconnect-delay'] as const) {
          if (argv[flag] !== undefined && !argv.reconnect) return `--${flag} needs --reconnect`;
        }
        return true;
      })
      .option('history', {
        type: 'boolean',
        default: true,
        describe:
          'on a terminal, keep the lines you enter across sessions in $XDG_STATE_HOME/tlsecho/history ' +
          '(default ~/.local/state/tlsecho/history; --no-history to neither read nor write it)',
        group: 'Input:',
      })
      .option('record', {
        type: 'string',
        describe:
          'also write every frame sent and received to this file as it passes (JSON lines, as proxy --record), for tlsecho replay',
        group: 'Output:',
      })
      .example('$0 connect localhost:7000 --ca certs/ca.crt', 'interactive session, trusting a local CA')
      .example("printf 'a\\nb\\n' | $0 connect :7000 --ca ca.crt", 'send two frames, print the two replies')
      .example('$0 connect :7000 --ca ca.crt --record s.jsonl', 'record the session, for tlsecho replay')

      .example(
        '$0 connect host:7000 --ca ca.crt --reconnect < messages.txt',
        'ride out a server restart: reconnect, send unanswered messages again',
      ),
  handler: async (argv) => {
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    const { connectSession } = await import('../../client/connect-session.js');
    await connectSession(toConnectOptions(argv), io);
  },
});
