import type { CommandModule } from 'yargs';
import { DEFAULT_SEND_TIMEOUT_MS } from '../../client/defaults.js';
import type { SendOptions } from '../../client/send.js';
import { UsageError } from '../../errors.js';
import type { Io } from '../../io.js';
import { durationOption, withJsonOption } from '../option-groups.js';
import {
  toClientConnectionOptions,
  toInputMode,
  withClientOptions,
  type ClientArgs,
} from './client-flags.js';

const CHECK_GROUP = 'Checks:';

export interface SendArgs extends ClientArgs {
  messages?: Array<string | number>;
  file?: string;
  count?: number;
  replies?: number;
  wait?: boolean;
  expect?: Array<string | number>;
  'expect-echo'?: boolean;
  timeout?: number;
  json?: boolean;
}

/** Flags → options for `send`. Pure, so a table test can cover it. */
export function toSendOptions(argv: SendArgs): SendOptions {
  const messages = (argv.messages ?? []).map(String);
  if (messages.length > 0 && argv.file !== undefined) {
    throw new UsageError('messages on the command line and --file cannot go together: pass one');
  }
  const count = argv.count ?? 1;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`invalid --count ${argv.count}: expected a whole number of at least 1`);
  }
  if (argv.replies !== undefined && (!Number.isSafeInteger(argv.replies) || argv.replies < 0)) {
    throw new UsageError(`invalid --replies ${argv.replies}: expected a whole number`);
  }
  return {
    ...toClientConnectionOptions(argv),
    messages,
    file: argv.file,
    input: toInputMode(argv),
    output: argv.output ?? 'text',
    format: argv.format ?? 'text',
    count,
    replies: argv.replies,
    wait: argv.wait ?? true,
    expect: (argv.expect ?? []).map(String),
    expectEcho: argv['expect-echo'] ?? false,
    timeoutMs: argv.timeout ?? DEFAULT_SEND_TIMEOUT_MS,
    json: argv.json ?? false,
    verbose: argv.verbose ?? false,
    color: argv.color ?? true,
  };
}

export const sendCommand = (io: Io): CommandModule<object, SendArgs> => ({
  command: 'send <target> [messages..]',
  describe: 'send messages, print the replies, exit (for scripts and health checks)',
  builder: (y) =>
    withJsonOption(
      withClientOptions(
        y
          .positional('target', {
            type: 'string',
            describe: 'HOST:PORT, [IPv6]:PORT, or HOST with --port',
          })
          .positional('messages', {
            type: 'string',
            array: true,
            describe: 'each one frame; without any, messages are read from --file or stdin (one per line)',
          }),
      ),
    )
      .option('file', {
        alias: 'f',
        type: 'string',
        describe: 'read the messages from this file (one per line, or as --null/--whole/--raw-in say)',
        group: 'Input:',
      })
      // No -n: in bench, -n is --messages (messages in all), and a short flag has one meaning everywhere.
      .option('count', {
        type: 'number',
        default: 1,
        describe: 'send the messages this many times over (a quick smoke load)',
        group: 'Input:',
      })
      .option('replies', {
        type: 'number',
        describe: 'number of replies to wait for in total (default: one per frame sent)',
        group: CHECK_GROUP,
      })
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'wait for replies (--no-wait: send, close, exit)',
        group: CHECK_GROUP,
      })
      .option('expect', {
        type: 'string',
        array: true,
        describe: 'fail (exit 8) unless the replies are these, in order (repeatable)',
        group: CHECK_GROUP,
      })
      .option('expect-echo', {
        type: 'boolean',

        describe: 'fail (exit 8) unless every reply equals the message it answers',
        group: CHECK_GROUP,
      })
      .option('timeout', {
        ...durationOption(
          'give up on the whole exchange after this long (exit 6)',
          `${DEFAULT_SEND_TIMEOUT_MS / 1000}s`,
          'Connection:',
          { nonZero: true },
        ),
      })
      .conflicts('expect', 'expect-echo')
      .check((argv) => {
        if (argv.wait === false) {
          for (const flag of ['expect', 'expect-echo', 'replies'] as const) {
            const value = argv[flag];
            if (value !== undefined && value !== false) {
              // A returned sentence is a usage error (exit 2); a thrown Error would be reported as a bug.
              return `--no-wait and --${flag} cannot go together: --${flag} needs the replies`;
            }
          }
        }
        return true;
      })
      .example('$0 send localhost:7000 --ca certs/ca.crt hello', 'print the reply to one frame')
      .example(
        '$0 send localhost:7000 --ca certs/ca.crt --expect-echo a b c',
        'health check: exit 0 only if each is echoed',
      )
      .example('$0 send host:7000 --json --count 100 ping', 'timings as one JSON object')
      .example('$0 send --plain 10.0.0.5:7000 ping', 'a gen_tcp service without TLS (NOT encrypted)'),
  handler: async (argv) => {
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    const { send } = await import('../../client/send.js');
    await send(toSendOptions(argv), io);
  },
});
