import yargs, { type Argv, type MiddlewareFunction, type Options } from 'yargs';
import { InvalidValueError, UsageError, isTlsechoError, type TlsechoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { allCommands } from './commands/index.js';
import { answerCompletion, COMPLETION_HELP } from './completion.js';
import { loadHelpLayout, mayPrintHelp } from './help-layout.js';
import { renderHelpOnlyWhenShown } from './lazy-help.js';
import { checkPathFlag, withGlobalOptions } from './option-groups.js';
import { withTerminalCapabilities } from './terminal-capabilities.js';
import { describeUsageFailure } from './usage-errors.js';
import { VERSION } from './version.js';
import type { Io } from '../io.js';

export { VERSION } from './version.js';

/** Builds the whole command line: global flags, the subcommands, and the rules that turn yargs failures into usage errors. */
export function buildParser(argv: string[], io: Io, commands = allCommands(io)): Argv {
  const parser: Argv = yargs(argv);
  layOutExamples(parser);
  checkFlagValues(parser);
  withGlobalOptions(parser)
    .scriptName('tlsecho')
    .usage(
      '$0 <command> [options]\n\nTLS framed messaging: Erlang {packet, N} frames over TLS, from the shell.',
    )
    .command(commands)
    .demandCommand(1, 'choose a command')
    .recommendCommands()
    .strict()
    .env('TLSECHO')
    .middleware(dropForeignEnvOptions(io.env) as unknown as MiddlewareFunction, true)
    .middleware(restoreOperandValues as unknown as MiddlewareFunction, true)
    // Listed here for --help and the docs; answerCompletion prints the script and answers the requests.
    .completion('completion', 'print a bash/zsh completion script (see the README for installing it)')
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .alias('version', 'V')
    .example(TOP_LEVEL_EXAMPLES)
    .wrap(Math.min(MAX_HELP_WIDTH, terminalColumns(io) ?? DEFAULT_HELP_WIDTH))
    .exitProcess(false)
    .fail((message, error) => {
      // Errors thrown by a command handler arrive here too; keep them as they are. A `coerce` callback's
      // error arrives as a YError holding only its message, and a `.check()` that returns a sentence passes
      // that string as the error: both are usage errors.
      if (error instanceof Error && error.name !== 'YError') throw error;
      const command = commandOf(argv);
      // getOptions is yargs' own (not in its typings): by now the parser holds the failing command's options.
      const keys = (parser as unknown as { getOptions?(): { key: Record<string, unknown> } }).getOptions?.()
        .key;
      throw describeUsageFailure(restoreOperands(message ?? error?.message ?? ''), {
        argv,
        command,
        optionNames: Object.keys(keys ?? {}).filter((key) => !/[A-Z]/.test(key) && key.length > 1),
        commandNames: COMMAND_NAMES,
      });
    });
  renderHelpOnlyWhenShown(parser);
  return parser;
}

// Wider than this, option descriptions become hard to follow from flag to text.
const MAX_HELP_WIDTH = 110;
// Piped, there is no terminal to measure: the width most terminals open at, with room to spare.
const DEFAULT_HELP_WIDTH = 100;

/** What `tlsecho --help` shows under Examples: the first steps, in order. */
const TOP_LEVEL_EXAMPLES: [string, string][] = [
  [
    '$0 gencert --ca && $0 gencert --issuer certs',
    'a local CA and a server certificate it signs, in ./certs',
  ],
  ['$0 serve', 'an echo server on 127.0.0.1:7000 using certs/server.crt'],
  ['$0 send localhost:7000 --ca certs/ca.crt hello', 'send one message, print the reply'],
  ['$0 connect localhost:7000 --ca certs/ca.crt', 'an interactive session'],
];

/**
 * yargs turns a flag that takes one value into a list when it is given twice (`--cert a --cert b`), and the
 * list then reached code expecting a string: "internal error: The "path" argument must be of type string",
 * or a message about `value.trim`. Every option declared with one value refuses a second one here, in the
 * flag's own words, before its own `coerce` runs; repeatable options are declared as arrays and keep
 * collecting. Likewise yargs reads a number flag that is not a number (`--port abc`) as NaN, which then
 * showed up as `--port says NaN`: it is refused here too. Builders call `.option()` on this same parser, so
 * wrapping it covers every command.
 */
function checkFlagValues(parser: Argv): void {
  const declare = parser.option.bind(parser) as (key: string, options?: Options) => Argv;
  const option = (key: string | Record<string, Options>, options?: Options): Argv => {
    if (typeof key !== 'string' || options === undefined) {
      return (declare as (key: unknown, options?: Options) => Argv)(key, options);
    }
    const coerce = options.coerce as ((value: unknown) => unknown) | undefined;
    if (takesList(options)) {
      if (options.type === 'boolean' || options.type === 'count') return declare(key, options);
      return declare(key, {
        ...options,
        coerce: (value: unknown) => {
          checkPathFlag(key, value);
          return coerce ? coerce(value) : value;
        },
      });
    }
    return declare(key, {
      ...options,
      coerce: (value: unknown) => {
        checkPathFlag(key, value);
        if (Array.isArray(value)) {
          const shown = value.map((item) => `'${shorten(String(item))}'`).join(', ');
          throw new UsageError(`--${key} was given ${value.length} times (${shown}): pass it once`);
        }
        if (options.type === 'number' && Number.isNaN(value)) {
          throw new UsageError(`invalid --${key}: expected a number`);
        }
        if (!coerce) return value;
        try {
          return coerce(value);
        } catch (error) {
          // A shared parser (a duration, a size) names the kind of value; the user typed a flag.
          throw error instanceof InvalidValueError ? error.forFlag(`--${key}`) : error;
        }
      },
    });
  };
  parser.option = option as Argv['option'];
}

function takesList(options: Options): boolean {
  return (
    options.array === true ||
    options.type === 'array' ||
    options.type === 'boolean' ||
    options.type === 'count'
  );
}

// Enough of a value to recognise it in a one-line message.
const SHOWN_VALUE_CHARS = 40;

function shorten(text: string): string {
  return text.length > SHOWN_VALUE_CHARS ? `${text.slice(0, SHOWN_VALUE_CHARS)}…` : text;
}

function terminalColumns(io: Io): number | undefined {
  const columns = (io.stdout as { columns?: number }).columns;
  return io.stdout.isTTY && typeof columns === 'number' && columns > 0 ? columns : undefined;
}

/**
 * yargs sets examples in two columns, the command in the left one capped at half the width, so a long
 * command wraps onto a second line, and copying its first line runs a different command. Each example is
 * shown instead as its description, as a shell comment, above the whole command on a line of its own:
 * both lines can be pasted into a shell as they are. Builders still declare `.example(command, text)`,
 * so the man page and the README read them unchanged.
 */
function layOutExamples(parser: Argv): void {
  const declare = parser.example.bind(parser);
  const example = (command: string | [string, string?][], description?: string): Argv => {
    const list = Array.isArray(command) ? command : [[command, description] as [string, string?]];
    for (const [text, about] of list) {
      // A single column (empty description) wraps only at the full width, and no example is that long.
      if (about) declare(`# ${about}`, '');
      declare(text, '');
    }
    return parser;
  };
  parser.example = example as Argv['example'];
}

/**
 * Runs the CLI with `argv` (without node and the script) and returns the exit code. The only place that
 * turns errors into messages and codes; it never calls process.exit. `commands` is for tests that run the
 * real parser with a handler of their own.
 */
export async function main(
  argv: string[],
  io: Io,
  commands?: ReturnType<typeof allCommands>,
): Promise<number> {
  const completion = await answerCompletion(argv, io, () => ({
    commands: commands ?? allCommands(io),
    globalOptions: withGlobalOptions,
  }));
  if (completion !== undefined) return completion;
  const flags = beforeOperands(argv);
  // --json shapes the error output only where the command has it: `connect --json` is refused in plain words.
  // TLSECHO_JSON counts as --json here too, as it does for the command itself (yargs' .env), unless the
  // command line says --no-json.
  const command = commandOf(argv);
  const jsonAsked = flags.includes('--json') || (isSet(io.env.TLSECHO_JSON) && !flags.includes('--no-json'));
  const json = jsonAsked && (command === undefined || COMMANDS_WITH_JSON.has(command));
  const debug = flags.includes('--debug') || isSet(io.env.TLSECHO_DEBUG);
  const words = protectOperands(argv);
  if (mayPrintHelp(flags)) await loadHelpLayout();
  const capable = await withTerminalCapabilities(io);
  const parser = buildParser(words, capable, commands ?? allCommands(capable));
  if (argv.length === 0) {
    io.stderr.write(`${await parser.getHelp()}\n`);
    return ExitCode.USAGE;
  }
  // yargs' completion command has no help of its own: `--help` would print the script.
  if (command === 'completion' && (flags.includes('--help') || flags.includes('-h'))) {
    io.stdout.write(COMPLETION_HELP);
    return ExitCode.OK;
  }
  let output = '';
  try {
    // With a callback, yargs hands back --help/--version/completion text instead of printing it.
    await parser.parseAsync(words, {}, (_error, _parsed, text) => {
      output = text;
    });
    if (output) io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
    return ExitCode.OK;
  } catch (error) {
    // A usage error always says where to read more, whichever layer raised it.
    const reported =
      error instanceof UsageError && error.hint === undefined
        ? new UsageError(error.message, {
            hint: `see 'tlsecho ${command ? `${command} ` : ''}--help'`,
            cause: error,
          })
        : error;
    return reportError(reported, io, { json, debug });
  }
}

// Known before the parser is built, for the error output; test/cli/main.test.ts checks both lists against
// the command modules and their help.
const COMMAND_NAMES = ['gencert', 'serve', 'connect', 'send', 'bench', 'proxy', 'replay', 'completion'];
const COMMANDS_WITH_JSON = new Set(['gencert', 'serve', 'send', 'bench', 'proxy', 'replay']);

/** The command word: the first word that is not a flag (the global flags take no value). */
function commandOf(argv: readonly string[]): string | undefined {
  const word = beforeOperands(argv).find((arg) => !arg.startsWith('-'));
  return word !== undefined && COMMAND_NAMES.includes(word) ? word : undefined;
}

// POSIX utility syntax guideline 10: `--` ends the options, and every word after it is an operand, even one
// that starts with a dash (`send HOST -- -x` sends `-x`). yargs reads the words after `--` into a list that
// command positionals never see, and re-parses positional values as flags; so before parsing, each word after
// `--` is marked with a leading NUL (which no flag starts with and no argv word can hold), and a middleware
// removes the mark before any check or handler sees the value.
const OPERAND_MARK = '\u0000';

function beforeOperands(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

function protectOperands(argv: string[]): string[] {
  const end = argv.indexOf('--');
  // Completion passes the line being completed as it is; there is nothing to run.
  if (end < 0 || argv[0] === '--get-yargs-completions') return argv;
  return [...argv.slice(0, end), ...argv.slice(end + 1).map((word) => `${OPERAND_MARK}${word}`)];
}

function restoreOperands(text: string): string {
  return text.replaceAll(OPERAND_MARK, '');
}

function restoreOperandValues(parsed: Record<string, unknown>): void {
  const restore = (value: unknown): unknown =>
    typeof value === 'string' && value.startsWith(OPERAND_MARK)
      ? value.slice(OPERAND_MARK.length)
      : Array.isArray(value)
        ? value.map(restore)
        : value;
  for (const [key, value] of Object.entries(parsed)) parsed[key] = restore(value);
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** Prints an error the way users read it: one line, a hint if one helps, the stack only with --debug. */
function reportError(error: unknown, io: Io, options: { json: boolean; debug: boolean }): number {
  if (isTlsechoError(error)) {
    writeUserError(error, io, options);
    return error.exitCode;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  io.stderr.write(`tlsecho: internal error: ${err.message}\n`);
  io.stderr.write(`${err.stack ?? ''}\n`);
  io.stderr.write(
    'This is a bug in tlsecho. Please report it with the command you ran and the output above.\n',
  );
  return ExitCode.INTERNAL;
}

function writeUserError(error: TlsechoError, io: Io, options: { json: boolean; debug: boolean }): void {
  if (options.json) {
    const line = {
      time: new Date().toISOString(),
      level: 'error',
      code: error.code,
      exitCode: error.exitCode,
      msg: error.message,
      hint: error.hint,
    };
    io.stderr.write(`${JSON.stringify(line)}\n`);
  } else {
    io.stderr.write(`tlsecho: ${error.message}\n`);
    if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
  }
  if (options.debug) {
    io.stderr.write(`${error.stack ?? ''}\n`);
    let cause = error.cause;
    while (cause !== undefined) {
      io.stderr.write(
        `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
      );
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
}

const ENV_PREFIX = 'TLSECHO_';

/**
 * `.env('TLSECHO')` hands every TLSECHO_* variable to every command, and `.strict()` would then refuse
 * TLSECHO_PORT (meant for serve and connect) as an unknown argument to gencert. A variable configures the
 * commands that have its option and is ignored by the others, so one exported setting serves them all.
 */
function dropForeignEnvOptions(env: Io['env']) {
  return (parsed: Record<string, unknown>, y: { getOptions(): { key: Record<string, unknown> } }): void => {
    // getOptions is yargs' own (not in its typings): the options of the command being run, globals included.
    const known = new Set(Object.keys(y.getOptions().key));
    // yargs matches the bare prefix too: a variable named exactly TLSECHO becomes an option named ''.
    delete parsed[''];
    for (const name of Object.keys(env)) {
      if (!name.startsWith(ENV_PREFIX)) continue;
      const kebab = name.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
      const camel = kebab.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
      if (known.has(kebab) || known.has(camel)) continue;
      delete parsed[kebab];
      delete parsed[camel];
    }
  };
}
