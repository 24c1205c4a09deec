import { PassThrough } from 'node:stream';
import type { Argv, CommandModule } from 'yargs';
import { allCommands } from '../../src/cli/commands/index.js';
import type { Io } from '../../src/io.js';
import { buildParser, VERSION } from '../../src/cli/main.js';
import { recordBuilder, type RecordedOption, type Recording } from './recording-argv.js';

// The command line as data, read from the yargs definitions themselves: the man page and the README's
// reference section are both rendered from this, so neither can list a flag the parser does not take.

/** yargs lists options without a group under this heading. */
export const DEFAULT_GROUP = 'Options';

export interface OptionDoc {
  name: string;
  aliases: string[];
  type: 'boolean' | 'string' | 'number' | 'count';
  /** Repeatable (`array: true`). */
  repeatable: boolean;
  describe: string;
  /** What `--help` shows after "default:", already as text; undefined when there is none. */
  defaultText?: string;
  choices?: string[];
  group: string;
}

export interface PositionalDoc {
  name: string;
  describe: string;
}

export interface ExampleDoc {
  command: string;
  description: string;
}

export interface CommandDoc {
  /** The first word: `send`. */
  name: string;
  /** As declared: `send <target> [messages..]`. */
  command: string;
  describe: string;
  /** The usage text's paragraphs after its first line, if the command sets one. */
  details: string[];
  epilogue?: string;
  positionals: PositionalDoc[];
  /** In the order `--help` lists them: by group, groups in order of first use, ungrouped last. */
  options: OptionDoc[];
  examples: ExampleDoc[];
}

export interface CliReference {
  version: string;
  /** What `tlsecho --help` says under its usage line. */
  summary: string;
  commands: CommandDoc[];
  /** Options every command takes (`--debug`, `--help`, ...). */
  globalOptions: OptionDoc[];
}

// Builders only declare flags; the Io they close over is never used while documenting.
function silentIo(): Io {
  return {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    env: {},
    cwd: process.cwd(),
    onSignal: () => () => {},
    onExit: () => () => {},
  };
}

/** Reads every command, option, positional and example from the CLI's own definitions. */
export function collectReference(): CliReference {
  const io = silentIo();
  const parser = buildParser([], io);
  const usageText = readUsage(parser);
  const listed = readCommandList(parser);
  const modules = new Map(allCommands(io).map((module) => [commandName(module), module]));
  const commands = listed.map(({ command, describe }) => {
    const module = modules.get(commandName({ command }));
    return module ? documentModule(module) : documentBuiltIn(command, describe);
  });
  return {
    version: VERSION,
    summary: usageText.split('\n\n').slice(1).join('\n\n').trim(),
    commands,
    globalOptions: readGlobalOptions(parser),
  };
}

function commandName(module: Pick<CommandModule, 'command'>): string {
  const command = Array.isArray(module.command) ? module.command[0] : module.command;
  return String(command).split(' ')[0]!;
}

function documentModule(module: CommandModule<object, never>): CommandDoc {
  if (typeof module.builder !== 'function') {
    throw new Error(`${String(module.command)}: only builder functions can be documented`);
  }
  const recording = recordBuilder(module.builder as (y: Argv) => unknown);
  const command = String(module.command);
  return {
    name: commandName(module),
    command,
    describe: String(module.describe),
    details: recording.usage ? recording.usage.split('\n\n').slice(1) : [],
    ...(recording.epilogue === undefined ? {} : { epilogue: recording.epilogue }),
    positionals: recording.positionals.map(({ name, options }) => ({
      name,
      describe: options.describe ?? options.description ?? options.desc ?? '',
    })),
    options: orderByGroup(recording),
    examples: recording.examples.map((example) => ({
      command: example.command.replace(/\$0/g, 'tlsecho'),
      description: example.description,
    })),
  };
}

// `completion` comes from yargs' .completion(): it has no builder of ours and no options.
function documentBuiltIn(command: string, describe: string): CommandDoc {
  return {
    name: command.split(' ')[0]!,
    command,
    describe,
    details: ['How to install the script: see SHELL COMPLETION below.'],
    positionals: [],
    options: [],
    examples: [],
  };
}

function toOptionDoc(recorded: RecordedOption, group: string): OptionDoc {
  const options = recorded.options;
  const alias =
    options.alias === undefined ? [] : Array.isArray(options.alias) ? options.alias : [options.alias];
  const defaultText =
    options.defaultDescription ??
    (options.default === undefined || options.type === 'boolean'
      ? undefined
      : formatDefault(options.default));
  return {
    name: recorded.name,
    aliases: alias,
    type: options.type === 'array' ? 'string' : (options.type ?? (options.boolean ? 'boolean' : 'string')),
    repeatable: options.array === true || options.type === 'array',
    describe: options.describe ?? options.description ?? options.desc ?? '',
    ...(defaultText === undefined ? {} : { defaultText }),
    ...(options.choices === undefined ? {} : { choices: [...(options.choices as unknown[])].map(String) }),
    group: stripColon(group),
  };
}

function formatDefault(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(String).join(', ');
  return String(value);
}

function stripColon(group: string): string {
  return group.replace(/:$/, '');
}

// yargs' --help order: named groups in the order they were first used, then the ungrouped options.
function orderByGroup(recording: Recording): OptionDoc[] {
  const visible = recording.options.filter((option) => !option.options.hidden);
  const byName = new Map(visible.map((option) => [option.name, option]));
  const grouped = recording.groups.flatMap((group) =>
    group.keys.flatMap((key) => {
      const option = byName.get(key);
      return option ? [toOptionDoc(option, group.name)] : [];
    }),
  );
  const inGroups = new Set(recording.groups.flatMap((group) => group.keys));
  const rest = visible
    .filter((option) => !inGroups.has(option.name))
    .map((option) => toOptionDoc(option, DEFAULT_GROUP));
  return [...grouped, ...rest];
}

// What the real parser holds. yargs keeps no public accessor for these, so they are read through its
// internals; if an upgrade moves them, the reference fails to build instead of going quietly wrong.
interface YargsInternals {
  getOptions(): {
    key: Record<string, boolean>;
    alias: Record<string, string[]>;
    boolean: string[];
    number: string[];
    default: Record<string, unknown>;
    hiddenOptions: string[];
  };
  getInternalMethods(): {
    getUsageInstance(): {
      getDescriptions(): Record<string, string | undefined>;
      getCommands(): [string, string, ...unknown[]][];
      getUsage(): [string, string][];
    };
  };
}

function internals(parser: Argv): YargsInternals {
  const candidate = parser as unknown as Partial<YargsInternals>;
  if (typeof candidate.getOptions !== 'function' || typeof candidate.getInternalMethods !== 'function') {
    throw new Error('this yargs version hides the parser settings the documentation is built from');
  }
  return candidate as YargsInternals;
}

function readUsage(parser: Argv): string {
  const usage = internals(parser).getInternalMethods().getUsageInstance().getUsage();
  return usage[0]?.[0] ?? '';
}

function readCommandList(parser: Argv): { command: string; describe: string }[] {
  return internals(parser)
    .getInternalMethods()
    .getUsageInstance()
    .getCommands()
    .map(([command, describe]) => ({ command, describe }));
}

// yargs marks its own translated strings ("Show help") with this prefix.
const YARGS_STRING = '__yargsString__:';

function readGlobalOptions(parser: Argv): OptionDoc[] {
  const yargs = internals(parser);
  const options = yargs.getOptions();
  const descriptions = yargs.getInternalMethods().getUsageInstance().getDescriptions();
  return Object.keys(options.key)
    .filter((name) => !options.hiddenOptions.includes(name))
    .map((name) => {
      const value = options.default[name];
      const type: OptionDoc['type'] = options.boolean.includes(name)
        ? 'boolean'
        : options.number.includes(name)
          ? 'number'
          : 'string';
      const defaultText = type === 'boolean' || value === undefined ? undefined : formatDefault(value);
      return {
        name,
        aliases: options.alias[name] ?? [],
        type,
        repeatable: false,
        describe: (descriptions[name] ?? '').replace(YARGS_STRING, ''),
        ...(defaultText === undefined ? {} : { defaultText }),
        group: DEFAULT_GROUP,
      } satisfies OptionDoc;
    });
}

/** Options as they are written on a command line: `--max-frame`, with `-p` for one-letter aliases. */
export function flagsOf(option: Pick<OptionDoc, 'name' | 'aliases'>): string[] {
  const short = option.aliases.filter((alias) => alias.length === 1).map((alias) => `-${alias}`);
  const long = option.aliases.filter((alias) => alias.length > 1).map((alias) => `--${alias}`);
  return [...short, `--${option.name}`, ...long];
}
