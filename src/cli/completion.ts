import type { Argv, CommandModule, Options } from 'yargs';
import type { Io } from '../io.js';

// Shell completion. `tlsecho completion` prints a bash or zsh script; on Tab the script runs
// `tlsecho --get-yargs-completions …` (yargs' name for the request, so scripts installed from older
// versions keep working) and this module answers from the command definitions themselves. It never parses
// the command line as a run would: a half-typed value such as `--packet ''` must not reach a flag's
// validation, whose error would land in the user's command line.

/** The request word the completion scripts send. */
const COMPLETION_KEY = '--get-yargs-completions';
/** Set by the scripts below to the shell asking (`bash`, `zsh`); its absence means a yargs-made script. */
const SHELL_VARIABLE = '_TLSECHO_COMPLETE';

/** What completion reads of the command line's definitions; `main` hands over its own. */
interface CompletionSource {
  commands: CommandModule<object, never>[];
  /** Declares the options every command takes (`--debug`, `--color`). */
  globalOptions: (y: Argv) => Argv;
  /** What `--ciphers` completes to. */
  ciphers?: readonly string[];
}

/** One word on offer, with the text zsh lists beside it. */
interface Candidate {
  word: string;
  description: string;
  /** No space after it: more is typed on (`exec:`). */
  noSpace?: boolean;
}

/** `tlsecho completion --help`: yargs' completion command has no help of its own and would print the script. */
export const COMPLETION_HELP = `tlsecho completion

print a bash/zsh completion script on stdout: the bash script, or the zsh script when $SHELL names zsh

It completes commands, options, and the values of options that have a fixed set (such as --output).

Install it for bash (with bash-completion, it loads on first use):
  mkdir -p ~/.local/share/bash-completion/completions
  tlsecho completion > ~/.local/share/bash-completion/completions/tlsecho
or, without bash-completion: tlsecho completion >> ~/.bashrc

For zsh, save it and source it from ~/.zshrc after compinit:
  SHELL=zsh tlsecho completion > ~/.tlsecho-completion.zsh
  source ~/.tlsecho-completion.zsh
`;

/** What to offer for the word under the cursor. */
interface Offer {
  candidates: Candidate[];
  /** Let the shell add file (or folder) names matching the word (after `--cert=`, say). */
  files?: 'files' | 'dirs';
}

interface OptionSpec {
  name: string;
  aliases: string[];
  takesValue: boolean;
  repeatable: boolean;
  negatable: boolean;
  describe: string;
  choices: string[];
}

interface CommandSpec {
  name: string;
  describe: string;
  options: OptionSpec[];
  hasPositionals: boolean;
}

// Values of options whose parser takes a fixed set without declaring yargs `choices` (they coerce instead,
// for a one-line error), with what zsh lists beside each.
const VALUES: Record<string, [string, string][]> = {
  packet: [
    ['1', '1-byte length header (frames up to 255 bytes)'],
    ['2', '2-byte length header (frames up to 65535 bytes)'],
    ['4', '4-byte length header'],
    ['line', 'newline-delimited, no header'],
  ],
  'min-tls': [
    ['1.2', 'TLS 1.2'],
    ['1.3', 'TLS 1.3'],
  ],
  'max-tls': [
    ['1.2', 'TLS 1.2'],
    ['1.3', 'TLS 1.3'],
  ],
  workers: [['auto', 'one worker per core']],
  handler: [
    ['echo', 'reply with each message as it came'],
    ['etf-echo', 'decode an Erlang term, reply {ok, Term}'],
    ['broadcast', 'send each message to every other client'],
    ['exec:', 'run COMMAND per connection, one line per message'],
  ],
};

// Descriptions of values declared as yargs `choices`, for zsh.
const CHOICE_DESCRIPTIONS: Record<string, Record<string, string>> = {
  'key-type': {
    'ec-p256': 'ECDSA P-256 (the default)',
    'ec-p384': 'ECDSA P-384',
    ed25519: 'Ed25519 (not every TLS client takes it)',
    'rsa-2048': 'RSA 2048 bits',
    'rsa-3072': 'RSA 3072 bits',
    'rsa-4096': 'RSA 4096 bits',
  },
  output: {
    text: 'one reply per line',
    hex: 'hex, one reply per line',
    base64: 'base64, one reply per line',
    json: 'one JSON object per reply',
    raw: 'framed, as --raw-in reads it',
  },
  format: { text: 'messages are their bytes', etf: 'messages are Erlang terms' },
  'exec-framing': { line: 'one line per message', raw: 'frames both ways' },
};

// Options whose value is a file or a folder: the shell completes those names itself. `--handler` also
// takes a module file (./handler.js).
const FILE_OPTIONS = new Set([
  'cert',
  'key',
  'key-passphrase-file',
  'ca',
  'ca-chain',
  'client-ca',
  'file',
  'ca-cert',
  'ca-key',
  'handler',
  'record',
  'upstream-cert',
  'upstream-key',
  'upstream-key-passphrase-file',
]);
const DIRECTORY_OPTIONS = new Set(['out', 'issuer']);

const HELP: OptionSpec = option('help', ['h'], false, 'show help');
const VERSION: OptionSpec = option('version', ['V'], false, 'show the version number');

function option(name: string, aliases: string[], takesValue: boolean, describe: string): OptionSpec {
  return { name, aliases, takesValue, repeatable: false, negatable: false, describe, choices: [] };
}

/**
 * Answers `tlsecho completion` (the script) and the script's requests. Returns the exit code, or undefined
 * when `argv` is neither, for the normal parser to handle.
 */
export async function answerCompletion(
  argv: string[],
  io: Io,
  source: () => CompletionSource,
): Promise<number | undefined> {
  if (argv.length === 1 && argv[0] === 'completion') {
    io.stdout.write(/zsh/.test(io.env.SHELL ?? '') ? ZSH_SCRIPT : BASH_SCRIPT);
    return 0;
  }
  if (argv[0] !== COMPLETION_KEY) return undefined;
  try {
    // Loaded only for a request: the suites `--ciphers` completes to live with the TLS defaults.
    const { TLS12_CIPHERS } = await import('../tls/options.js');
    io.stdout.write(completionReply(argv.slice(1), io.env, { ...source(), ciphers: TLS12_CIPHERS }));
  } catch {
    // Whatever went wrong, Tab offers nothing rather than writing into the command line.
  }
  return 0;
}

function completionReply(args: string[], env: Io['env'], source: CompletionSource): string {
  const shell = env[SHELL_VARIABLE];
  if (shell === 'bash') {
    // bash sends the line up to the cursor: its own words are split at `:` and `=` too.
    const { words, current } = splitLine(args[0] ?? '');
    const offer = completeWords(words.slice(1), current, source);
    // bash replaces only what follows the last `:` or `=` (its COMP_WORDBREAKS) in the current word.
    const cut = Math.max(current.lastIndexOf(':'), current.lastIndexOf('=')) + 1;
    const lines = offer.candidates.map((candidate) => candidate.word.slice(cut));
    return [`${offer.files ?? ''}\t${current.slice(cut)}`, ...lines].map((line) => `${line}\n`).join('');
  }
  const words = args.slice(1, -1).map(unquote);
  const current = unquote(args.at(-1) ?? '');
  const offer = completeWords(args.length > 0 ? words : [], current, source);
  if (shell === 'zsh') {
    const lines = offer.candidates.map(
      (candidate) =>
        `${candidate.word.replace(/:/g, '\\:')}:${oneLine(candidate.description)}${candidate.noSpace ? '\tnospace' : ''}`,
    );
    return [`${offer.files ?? ''}`, ...lines].map((line) => `${line}\n`).join('');
  }
  // A script yargs generated (before tlsecho wrote its own): its format, words only, or word:description
  // when $SHELL names zsh, as yargs decided it.
  const zsh = /zsh/.test(env.SHELL ?? '') || /zsh/.test(env.ZSH_NAME ?? '');
  return offer.candidates
    .map((candidate) =>
      zsh
        ? `${candidate.word.replace(/:/g, '\\:')}:${oneLine(candidate.description)}\n`
        : `${candidate.word}\n`,
    )
    .join('');
}

/** What to offer after `words` (the program name left out) for the word being typed, `current`. */
function completeWords(words: string[], current: string, source: CompletionSource): Offer {
  const globals = recordOptions(source.globalOptions);
  const commands = source.commands.map((module) => describeCommand(module, globals));
  const commandIndex = words.findIndex((word) => !word.startsWith('-'));
  const commandName = commandIndex === -1 ? undefined : words[commandIndex];
  const command = commands.find((candidate) => candidate.name === commandName);
  const options = command ? command.options : [...globals, HELP, VERSION];
  const none: Offer = { candidates: [] };

  // `--packet=<Tab>`
  const assignment = /^(--[^=]+=)(.*)$/.exec(current);
  if (assignment) {
    const spec = findOption(options, assignment[1]!.slice(0, -1));
    if (!spec?.takesValue) return none;
    return prefixed(valueOffer(spec, assignment[2]!, source), assignment[1]!);
  }
  // `--packet <Tab>`: a value, never an option.
  const previous = words.at(-1);
  if (previous !== undefined && previous.startsWith('-') && !previous.includes('=')) {
    const spec = findOption(options, previous);
    if (spec?.takesValue) return valueOffer(spec, current, source);
  }
  if (current.startsWith('-')) {
    return { candidates: optionCandidates(options, words, current) };
  }
  if (commandName === undefined) {
    return {
      candidates: [...commands, { name: 'completion', describe: 'print a bash/zsh completion script' }]
        .filter((candidate) => candidate.name.startsWith(current))
        .map((candidate) => ({ word: candidate.name, description: candidate.describe })),
    };
  }
  // A command that takes no positionals (serve, gencert) can only go on with an option.
  if (command && !command.hasPositionals && current === '') {
    return { candidates: optionCandidates(options, words, '--') };
  }
  return none;
}

function optionCandidates(options: OptionSpec[], words: string[], current: string): Candidate[] {
  const given = new Set(words);
  const candidates: Candidate[] = [];
  for (const spec of options) {
    const names = [
      `--${spec.name}`,
      ...spec.aliases.map((alias) => (alias.length === 1 ? `-${alias}` : `--${alias}`)),
    ];
    // Options already on the line are not offered again, unless they repeat; the word being completed is
    // not "on the line", so `--key<Tab>` keeps --key beside --key-passphrase-file.
    if (!spec.repeatable && names.some((name) => given.has(name))) continue;
    candidates.push({ word: `--${spec.name}`, description: spec.describe });
    if (spec.negatable) candidates.push({ word: `--no-${spec.name}`, description: spec.describe });
    if (!current.startsWith('--')) {
      for (const alias of spec.aliases.filter((name) => name.length === 1)) {
        candidates.push({ word: `-${alias}`, description: spec.describe });
      }
    }
  }
  return candidates.filter(
    (candidate) =>
      candidate.word.startsWith(current) &&
      // --no-color only once the user is typing a negation.
      (!candidate.word.startsWith('--no-') || current.startsWith('--no')),
  );
}

function valueOffer(spec: OptionSpec, current: string, source: CompletionSource): Offer {
  if (spec.name === 'ciphers') {
    // A colon-separated list: complete the suite after the last colon, keeping the ones before it.
    const done = current.slice(0, current.lastIndexOf(':') + 1);
    const typing = current.slice(done.length);
    return {
      candidates: (source.ciphers ?? [])
        .filter((suite) => suite.startsWith(typing.toUpperCase()))
        .map((suite) => ({
          word: `${done}${suite}`,
          description: 'a TLS 1.2 suite serve accepts',
        })),
    };
  }
  const listed =
    VALUES[spec.name] ??
    spec.choices.map((choice): [string, string] => [choice, CHOICE_DESCRIPTIONS[spec.name]?.[choice] ?? '']);
  const candidates = listed
    .filter(([value]) => value.startsWith(current))
    .map(([value, description]) => ({
      word: value,
      description,
      ...(value.endsWith(':') ? { noSpace: true } : {}),
    }));
  // `exec:COMMAND` goes on as the user types; a file name there would be a different handler.
  const files =
    spec.name === 'handler' && current.startsWith('exec:')
      ? undefined
      : FILE_OPTIONS.has(spec.name)
        ? ('files' as const)
        : DIRECTORY_OPTIONS.has(spec.name)
          ? ('dirs' as const)
          : undefined;
  return { candidates, ...(files ? { files } : {}) };
}

function prefixed(offer: Offer, prefix: string): Offer {
  return {
    ...offer,
    candidates: offer.candidates.map((candidate) => ({ ...candidate, word: `${prefix}${candidate.word}` })),
  };
}

function findOption(options: OptionSpec[], word: string): OptionSpec | undefined {
  const name = word.replace(/^--?/, '');
  return options.find((spec) => spec.name === name || spec.aliases.includes(name));
}

function describeCommand(module: CommandModule<object, never>, globals: OptionSpec[]): CommandSpec {
  const declared = String(Array.isArray(module.command) ? module.command[0] : module.command);
  const recorded = recordBuilder(module.builder as ((y: Argv) => unknown) | undefined);
  return {
    name: declared.split(' ')[0]!,
    describe: String(module.describe ?? ''),
    options: [...recorded, ...globals, HELP, VERSION],
    hasPositionals: /[<[]/.test(declared),
  };
}

/** The options a builder declares, read by running it against a stand-in that records `.option()`. */
function recordBuilder(builder: ((y: Argv) => unknown) | undefined): OptionSpec[] {
  const specs: OptionSpec[] = [];
  const add = (name: string, options: Options = {}) => {
    const alias = options.alias === undefined ? [] : [options.alias].flat();
    const boolean = options.type === 'boolean' || options.boolean === true;
    const spec: OptionSpec = {
      name,
      aliases: alias,
      takesValue: !boolean && options.type !== 'count',
      repeatable: options.array === true,
      negatable: boolean && options.default === true,
      describe: String(options.describe ?? options.description ?? options.desc ?? ''),
      choices: (options.choices ?? []).map(String),
    };
    const existing = specs.findIndex((other) => other.name === name);
    if (existing === -1) specs.push(spec);
    else specs[existing] = { ...specs[existing]!, ...spec };
  };
  const proxy: Argv = new Proxy({} as Argv, {
    get(_target, property) {
      if (property === 'option' || property === 'options') {
        return (name: string | Record<string, Options>, options?: Options) => {
          if (typeof name === 'string') add(name, options);
          else for (const [key, value] of Object.entries(name)) add(key, value);
          return proxy;
        };
      }
      // Everything else a builder calls (positionals, checks, groups, examples) changes no completion.
      return () => proxy;
    },
  });
  builder?.(proxy);
  return specs;
}

function recordOptions(declare: (y: Argv) => Argv): OptionSpec[] {
  return recordBuilder(declare);
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Splits a shell line as far as completion needs: words, quotes removed; the last one is being typed. */
function splitLine(line: string): { words: string[]; current: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  return { words, current: word };
}

function unquote(word: string): string {
  return splitLine(word).current;
}

// The scripts: each passes the words to tlsecho and hands what comes back to the shell's own machinery,
// adding file names where the answer's first line asks for them.
const BASH_SCRIPT = `###-begin-tlsecho-completions-###
#
# tlsecho completion for bash. Install: see "Shell completion" in tlsecho's README.
#
_tlsecho_yargs_completions()
{
    local reply header files word
    mapfile -t reply < <(${SHELL_VARIABLE}=bash tlsecho ${COMPLETION_KEY} "\${COMP_LINE:0:COMP_POINT}" 2>/dev/null)
    header=\${reply[0]-}
    COMPREPLY=("\${reply[@]:1}")
    files=\${header%%$'\\t'*}
    word=\${header#*$'\\t'}
    if [[ $files == files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t -O \${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- "$word")
    elif [[ $files == dirs ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t -O \${#COMPREPLY[@]} COMPREPLY < <(compgen -d -- "$word")
    fi
    # exec: goes on with the command to run.
    if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *: ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
# Where tlsecho offers nothing (a message, a port), bash's own default completion applies.
complete -o bashdefault -o default -F _tlsecho_yargs_completions tlsecho
###-end-tlsecho-completions-###
`;

const ZSH_SCRIPT = `#compdef tlsecho
###-begin-tlsecho-completions-###
#
# tlsecho completion for zsh. Install: see "Shell completion" in tlsecho's README.
#
_tlsecho_yargs_completions()
{
  local -a reply spaced unspaced
  local line ret=1
  reply=("\${(@f)$(${SHELL_VARIABLE}=zsh tlsecho ${COMPLETION_KEY} "\${(@)words[1,CURRENT]}" 2>/dev/null)}")
  for line in "\${(@)reply[2,-1]}"; do
    if [[ $line == *$'\\t'nospace ]]; then
      unspaced+=("\${line%$'\\t'nospace}")
    elif [[ -n $line ]]; then
      spaced+=("$line")
    fi
  done
  (( \${#spaced} )) && _describe -t values 'tlsecho' spaced && ret=0
  (( \${#unspaced} )) && _describe -t values 'tlsecho' unspaced -S '' && ret=0
  # --cert=<Tab>: the file name starts after the =.
  [[ \${reply[1]} == (files|dirs) && \${words[CURRENT]} == --*=* ]] && compset -P '*='
  case \${reply[1]} in
    files) _files && ret=0 ;;
    dirs) _files -/ && ret=0 ;;
  esac
  return ret
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _tlsecho_yargs_completions "$@"
else
  compdef _tlsecho_yargs_completions tlsecho
fi
###-end-tlsecho-completions-###
`;
