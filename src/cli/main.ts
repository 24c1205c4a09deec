import { readFileSync } from 'node:fs';
import yargs, { type Argv, type MiddlewareFunction } from 'yargs';
import { UsageError, isTlsechoError, type TlsechoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { allCommands } from './commands/index.js';
import { completeWords } from './completion.js';
import type { Io } from './io.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The tool's version, as `--version` prints it. */
export const VERSION = packageJson.version;

/** Builds the whole command line: global flags, the subcommands, and the rules that turn yargs failures into usage errors. */
export function buildParser(argv: string[], io: Io): Argv {
  const parser: Argv = yargs(argv)
    .scriptName('tlsecho')
    .usage(
      '$0 <command> [options]\n\nTLS framed messaging: Erlang {packet, N} frames over TLS, from the shell.',
    )
    .command(allCommands(io))
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
    })
    .demandCommand(1, 'choose a command')
    .recommendCommands()
    .strict()
    .env('TLSECHO')
    .middleware(dropForeignEnvOptions as unknown as MiddlewareFunction, true)
    .completion(
      'completion',
      'print a bash/zsh completion script (see the README for installing it)',
      completeWords(() => parser),
    )
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .alias('version', 'V')
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      // Errors thrown by a command handler arrive here too; keep them as they are. A `coerce` callback's
      // error arrives as a YError holding only its message, and a `.check()` that returns a sentence passes
      // that string as the error: both are usage errors.
      if (error instanceof Error && error.name !== 'YError') throw error;
      const command = argv.find((arg) => !arg.startsWith('-'));
      const suggestion = /^Did you mean (\S+)\?$/.exec(message);
      const text = suggestion ? `unknown command '${command}': did you mean ${suggestion[1]}?` : message;
      throw new UsageError(text, {
        hint: `see 'tlsecho ${command && !suggestion ? `${command} ` : ''}--help'`,
      });
    });
  return parser;
}

/**
 * Runs the CLI with `argv` (without node and the script) and returns the exit code. The only place that
 * turns errors into messages and codes; it never calls process.exit.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug') || isSet(io.env.TLSECHO_DEBUG);
  const parser = buildParser(argv, io);
  if (argv.length === 0) {
    io.stderr.write(`${await parser.getHelp()}\n`);
    return ExitCode.USAGE;
  }
  let output = '';
  try {
    // With a callback, yargs hands back --help/--version/completion text instead of printing it.
    await parser.parseAsync(argv, {}, (_error, _parsed, text) => {
      output = text;
    });
    if (output) io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
    return ExitCode.OK;
  } catch (error) {
    return reportError(error, io, { json, debug });
  }
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** Prints an error the way users read it: one line, a hint if one helps, the stack only with --debug. */
export function reportError(error: unknown, io: Io, options: { json: boolean; debug: boolean }): number {
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
function dropForeignEnvOptions(
  parsed: Record<string, unknown>,
  y: { getOptions(): { key: Record<string, unknown> } },
): void {
  // getOptions is yargs' own (not in its typings): the options of the command being run, globals included.
  const known = new Set(Object.keys(y.getOptions().key));
  // yargs matches the bare prefix too: a variable named exactly TLSECHO becomes an option named ''.
  if (process.env[ENV_PREFIX.slice(0, -1)] !== undefined) delete parsed[''];
  for (const name of Object.keys(process.env)) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const kebab = name.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const camel = kebab.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
    if (known.has(kebab) || known.has(camel)) continue;
    delete parsed[kebab];
    delete parsed[camel];
  }
}
