import { UsageError } from '../errors.js';

// yargs reports usage failures in its own words, some over several lines and some twice (an unknown
// `--max-tls` is listed as both `max-tls` and `maxTls`). These turn them into one line that names the flag as
// the user typed it, plus a hint, so every usage error reads the same way and exits 2.

/** What the failing command line offers: its words, and the options and commands it knows. */
interface UsageContext {
  argv: readonly string[];
  /** The command being run, when one was recognised. */
  command: string | undefined;
  /** Long option names the command accepts (kebab-case), for "did you mean". */
  optionNames: readonly string[];
  /** Top-level commands, for a word in the command's place. */
  commandNames: readonly string[];
}

/** Turns a yargs failure message into the UsageError the user sees. */
export function describeUsageFailure(message: string, context: UsageContext): UsageError {
  const help = `see 'tlsecho ${context.command ? `${context.command} ` : ''}--help'`;
  const suggestion = /^Did you mean (\S+)\?$/.exec(message);
  if (suggestion) {
    const word = context.argv.find((arg) => !arg.startsWith('-'));
    return new UsageError(`unknown command '${word}': did you mean ${suggestion[1]}?`, {
      hint: "see 'tlsecho --help'",
    });
  }
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown) return describeUnknown(unknown[1]!.split(', '), context, help);
  const invalid = /Argument: (\S+), Given: (.*), Choices: (.*)$/m.exec(message);
  if (invalid) {
    const [, name, given, choices] = invalid;
    const values = choices!.split(', ').map((choice) => choice.replace(/^"|"$/g, ''));
    const value = given!.replace(/^"|"$/g, '');
    const near = closest(value, values);
    return new UsageError(
      `invalid --${name} '${value}': expected ${values.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`,
      { hint: help },
    );
  }
  const missing = /^Not enough non-option arguments: got 0, need at least 1$/.exec(message);
  if (missing && (context.command === 'send' || context.command === 'bench')) {
    return new UsageError(`${context.command} needs a target: HOST:PORT`, { hint: help });
  }
  const exclusive = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(message);
  if (exclusive) {
    return new UsageError(`--${exclusive[1]} and --${exclusive[2]} cannot go together`, { hint: help });
  }
  // Anything else yargs says (missing positionals, conflicting flags) is already one sentence per line.
  return new UsageError(message.split('\n').join('; '), { hint: help });
}

function describeUnknown(names: string[], context: UsageContext, help: string): UsageError {
  // yargs lists a multi-word flag under both spellings; keep the one that was typed.
  const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  const unique = names.filter((name) => name === kebab(name) || !names.includes(kebab(name)));
  const first = unique[0]!;
  const typed = spelledAs(first, context.argv);
  if (typed === undefined) {
    // A word, not a flag: in the command's place, or one positional too many.
    if (context.command === undefined) {
      const asOption = ['help', 'version'].includes(first) ? ` (did you mean tlsecho --${first}?)` : '';
      const near = asOption ? undefined : closest(first, context.commandNames);
      return new UsageError(`unknown command '${first}'${asOption}${near ? `: did you mean ${near}?` : ''}`, {
        hint: "see 'tlsecho --help'",
      });
    }
    const more = unique.length > 1 ? ` (and ${unique.length - 1} more)` : '';
    return new UsageError(`unexpected argument '${first}'${more}`, { hint: help });
  }
  const others = unique.slice(1).map((name) => spelledAs(name, context.argv) ?? `'${name}'`);
  const list = [typed, ...others].join(', ');
  const near = typed.startsWith('--') ? closest(typed.slice(2), context.optionNames) : undefined;
  const text = `unknown option${others.length > 0 ? 's' : ''} ${list}${near ? `: did you mean --${near}?` : ''}`;
  // `send HOST -x`: a message that starts with a dash reads as a flag; `--` ends the flags.
  const dashMessage =
    context.command === 'send' && /^-[^-]/.test(typed)
      ? `; to send a message that starts with '-', put it after --: tlsecho ${context.command} HOST -- ${typed}`
      : '';
  return new UsageError(text, { hint: `${help}${dashMessage}` });
}

/** How `name` was written on the command line (`--name`, `-n`, `--no-name`), or undefined for a bare word. */
function spelledAs(name: string, argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '--') break;
    const flag = /^(--?)(?:no-)?([^=]+)/.exec(arg);
    if (!flag) continue;
    if (flag[1] === '--' && flag[2] === name) return arg.split('=')[0];
    if (flag[1] === '-' && flag[2]!.includes(name) && name.length === 1) return `-${name}`;
  }
  return undefined;
}

/** The candidate nearest `word` by edit distance, if it is near enough to be a likely typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the word, at least one edit: `expct` → `expect`, but not `x` → `k`.
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) && bestDistance > 0 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
