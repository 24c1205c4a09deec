import type { Argv, Options, PositionalOptions } from 'yargs';

// A stand-in for yargs that a command's builder runs against: it keeps what the builder declares (options,
// positionals, groups, examples, usage and epilogue) so the man page and the README are written from the
// same definitions that parse the command line. A method it does not know fails loudly: a builder that
// starts using, say, `.alias()` must be taught here rather than silently left out of the docs.

/** One declared option, as the builder passed it. */
export interface RecordedOption {
  name: string;
  options: Options;
}

/** A heading of `--help` and the options under it, both in the order yargs lists them. */
export interface RecordedGroup {
  name: string;
  keys: string[];
}

export interface RecordedPositional {
  name: string;
  options: PositionalOptions;
}

export interface RecordedExample {
  command: string;
  description: string;
}

/** Everything a builder declared, in declaration order. */
export interface Recording {
  options: RecordedOption[];
  /** Named groups in the order they were first used; options in none go under yargs' "Options:". */
  groups: RecordedGroup[];
  positionals: RecordedPositional[];
  examples: RecordedExample[];
  usage?: string;
  epilogue?: string;
}

// Rules between flags and parser settings change no documentation.
const IGNORED = new Set([
  'check',
  'conflicts',
  'implies',
  'parserConfiguration',
  'middleware',
  'strict',
  'strictOptions',
]);

/** Runs `builder` against a recorder and returns what it declared. */
export function recordBuilder(builder: (y: Argv) => unknown): Recording {
  const recording: Recording = { options: [], groups: [], positionals: [], examples: [] };
  // As yargs does: a group is listed where it was first used, and a key joins the end of its group.
  const addToGroup = (name: string, key: string) => {
    for (const group of recording.groups) group.keys = group.keys.filter((other) => other !== key);
    let group = recording.groups.find((candidate) => candidate.name === name);
    if (!group) recording.groups.push((group = { name, keys: [] }));
    group.keys.push(key);
  };
  const setOption = (name: string, options: Options) => {
    const existing = recording.options.find((option) => option.name === name);
    // yargs merges a second declaration of the same key into the first; so does this.
    if (existing) existing.options = { ...existing.options, ...options };
    else recording.options.push({ name, options });
    if (options.group !== undefined) addToGroup(options.group, name);
  };
  const methods: Record<string, (...args: never[]) => void> = {
    option: (name: string, options: Options = {}) => setOption(name, options),
    options: (all: Record<string, Options>) => {
      for (const [name, options] of Object.entries(all)) setOption(name, options);
    },
    positional: (name: string, options: PositionalOptions = {}) => {
      recording.positionals.push({ name, options });
    },
    example: (command: string | [string, string?][], description?: string) => {
      const list = Array.isArray(command) ? command : [[command, description] as [string, string?]];
      for (const [text, about] of list) recording.examples.push({ command: text, description: about ?? '' });
    },
    usage: (text: string) => {
      recording.usage = text;
    },
    epilog: (text: string) => {
      recording.epilogue = text;
    },
    epilogue: (text: string) => {
      recording.epilogue = text;
    },
    group: (keys: string | string[], name: string) => {
      for (const key of Array.isArray(keys) ? keys : [keys]) {
        if (!recording.options.some((option) => option.name === key)) {
          throw new Error(`.group() names '${key}', which is not declared before it`);
        }
        addToGroup(name, key);
      }
    },
  };
  const proxy: Argv = new Proxy({} as Argv, {
    get(_target, property) {
      if (typeof property !== 'string') return undefined;
      const method = methods[property];
      if (method) {
        return (...args: never[]) => {
          method(...args);
          return proxy;
        };
      }
      if (IGNORED.has(property)) return () => proxy;
      throw new Error(
        `the documentation recorder does not know yargs' .${property}(); teach scripts/docs/recording-argv.ts`,
      );
    },
  });
  builder(proxy);
  return recording;
}
