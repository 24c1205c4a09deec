import type { CommandModule } from 'yargs';
import { DEFAULT_SEND_TIMEOUT_MS, MESSAGE_FORMATS, type MessageFormat } from '../../client/defaults.js';
import { parsePacketMode } from '../../codec/limits.js';
import { UsageError } from '../../errors.js';
import type { Io } from '../../io.js';
import type { ReplayOptions } from '../../replay/replay.js';
import { durationOption, FRAMING_GROUP, OUTPUT_GROUP, withJsonOption } from '../option-groups.js';
import { toClientConnectionOptions, withClientConnectionOptions, type ClientArgs } from './client-flags.js';

export interface ReplayArgs extends ClientArgs {
  recording?: string;
  timeout?: number;
  format?: MessageFormat;
  json?: boolean;
}

/** Flags → options for `replay`. Pure, so a table test can cover it. */
export function toReplayOptions(argv: ReplayArgs): ReplayOptions {
  // Without --packet, the framing is the recording's: only the file knows it, so it is read in replay().
  const connection = toClientConnectionOptions({ ...argv, packet: argv.packet ?? 4 });
  return {
    ...connection,
    file: argv.recording ?? '',
    packet: argv.packet,
    maxFrame: argv.packet === undefined ? undefined : connection.maxFrame,
    timeoutMs: argv.timeout ?? DEFAULT_SEND_TIMEOUT_MS,
    format: argv.format ?? 'text',
    json: argv.json ?? false,
    verbose: argv.verbose ?? false,
    color: argv.color ?? true,
  };
}

export const replayCommand = (io: Io): CommandModule<object, ReplayArgs> => ({
  command: 'replay <recording> <target>',
  describe: 'play a recording against a server and check that its replies are the recorded ones',
  builder: (y) =>
    withJsonOption(
      withClientConnectionOptions(
        y
          .positional('recording', {
            type: 'string',
            describe: 'a recording made with tlsecho proxy --record or connect --record',
          })
          .positional('target', { type: 'string', describe: 'HOST:PORT, [IPv6]:PORT, or HOST with --port' }),
      ),
    )
      // Redefined without a default: unless given, the server's framing is the one the recording was made with.
      .option('packet', {
        type: 'string',
        describe: "the server's framing: 1, 2, 4 or line (default: the recording's)",
        group: FRAMING_GROUP,
        coerce: parsePacketMode,
      })
      .option('timeout', {
        ...durationOption(
          'how long to wait for each recorded reply before giving up (exit 6)',
          `${DEFAULT_SEND_TIMEOUT_MS / 1000}s`,
          'Connection:',
          { nonZero: true },
        ),
      })
      .option('format', {
        type: 'string',
        choices: MESSAGE_FORMATS,
        default: 'text' as MessageFormat,
        describe:
          'text: a reply matches when it is the recorded bytes; etf: a reply also matches when it decodes to the same Erlang term as the recorded one (binary_to_term, =:=), however encoded (ATOM_EXT or SMALL_ATOM_UTF8_EXT, compressed or not), and differing replies are shown as terms. Frames that are not one valid term on either side are compared byte for byte',
        group: OUTPUT_GROUP,
      })
      .option('verbose', {
        alias: 'v',
        type: 'boolean',
        default: false,
        describe: "report each connection's TLS details on stderr",
        group: OUTPUT_GROUP,
      })
      .example(
        '$0 replay session.jsonl localhost:7000 --ca certs/ca.crt',
        'exit 0 if every reply matches the recording',
      )
      .example(
        '$0 replay session.jsonl localhost:7000 --format etf',
        'compare replies as Erlang terms and show differing ones as terms',
      )
      .example('$0 replay session.jsonl staging:7000 --json', 'a JSON report per connection'),
  handler: async (argv) => {
    // '' would be read as the working folder.
    if (argv.recording === '') throw new UsageError("invalid recording '': expected a file name");
    // Loaded here, not at start-up: each command loads only its own code (see commands/index.ts).
    const { replay } = await import('../../replay/replay.js');
    await replay(toReplayOptions(argv), io);
  },
});
