import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/main.js';
import { createMemoryIo } from '../../helpers/memory-io.js';

// Readers for what each document says, written independently of the generator in scripts/docs: the drift
// test compares what `--help` prints (the parser's own word) with what a person finds in the man page and
// the README, so a bug in the generator cannot hide a difference.

export const MAN_PAGE_FILE = fileURLToPath(new URL('../../../man/tlsecho.1', import.meta.url));
export const README_FILE = fileURLToPath(new URL('../../../README.md', import.meta.url));

export const readManPage = (): string => readFileSync(MAN_PAGE_FILE, 'utf8');
export const readReadme = (): string => readFileSync(README_FILE, 'utf8');

/** `tlsecho ...args --help`, run in-process, as it prints to stdout. */
export async function helpText(args: string[]): Promise<string> {
  const io = createMemoryIo();
  const code = await main([...args, '--help'], io);
  if (code !== 0) throw new Error(`tlsecho ${args.join(' ')} --help exited ${code}: ${io.errors()}`);
  return io.output();
}

/** The sections of a `--help` text: heading (`TLS`, `Options`, `Examples`) → its lines. */
export function helpSections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const heading = /^([A-Z][^:]*):$/.exec(line);
    if (heading) sections.set(heading[1]!, (current = []));
    else if (line === '') current = undefined;
    else current?.push(line);
  }
  return sections;
}

// An option line: `  -p, --port  ...` or `      --max-frame  ...`; wrapped description lines are indented
// further and never match.
const HELP_OPTION = /^(?: {2}-[^\s,], | {6})--([A-Za-z0-9][\w-]*)(?=\s|$)/;

/** Long option names per `--help` section, leaving out Positionals, Commands and Examples. */
export function helpOptionsByGroup(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [heading, lines] of helpSections(text)) {
    if (['Positionals', 'Commands', 'Examples'].includes(heading)) continue;
    const names = lines.flatMap((line) => HELP_OPTION.exec(line)?.[1] ?? []);
    if (names.length > 0) groups.set(heading, names);
  }
  return groups;
}

export function helpOptions(text: string): Set<string> {
  return new Set([...helpOptionsByGroup(text).values()].flat());
}

/** The command names under `tlsecho --help`'s Commands heading. */
export function helpCommands(text: string): string[] {
  return (helpSections(text).get('Commands') ?? []).flatMap(
    (line) => /^ {2}tlsecho (\S+)/.exec(line)?.[1] ?? [],
  );
}

/** The man page's `.SH` sections: title (unquoted) → body lines. */
export function manSections(roff: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of roff.split('\n')) {
    const heading = /^\.SH\s+(?:"(.*)"|(.*))$/.exec(line);
    if (heading) sections.set((heading[1] ?? heading[2]!).trim(), (current = []));
    else current?.push(line);
  }
  return sections;
}

/** Long options a man section documents: those in bold on the tag line of each `.TP` entry. */
export function manOptions(body: string[]): Set<string> {
  const names = new Set<string>();
  body.forEach((line, index) => {
    if (line !== '.TP' || index + 1 >= body.length) return;
    for (const match of body[index + 1]!.matchAll(/\\fB\\-\\-([A-Za-z0-9][\w\\-]*)\\fR/g)) {
      names.add(match[1]!.replace(/\\-/g, '-'));
    }
  });
  return names;
}

/** What a reader sees of some roff: requests gone, font changes dropped, escapes turned back into text. */
export function plainRoff(roff: string): string {
  return roff
    .split('\n')
    .filter((line) => !/^\.\\"/.test(line))
    .map(plainLine)
    .join('\n')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\\(bu/g, '*')
    .replace(/\\-/g, '-')
    .replace(/\\&/g, '')
    .replace(/\\e/g, '\\')
    .replace(/\\\[u([0-9A-F]{4,5})\]/g, (_match, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
}

function plainLine(line: string): string {
  const font = /^\.(B|I|BR|BI|IB|IR|RB|RI)\s+(.*)$/.exec(line);
  if (font) {
    const args = [...font[2]!.matchAll(/"((?:[^"]|"")*)"|(\S+)/g)].map((match) =>
      match[1] !== undefined ? match[1].replace(/""/g, '"') : match[2]!,
    );
    // .B and .I set all their words in one font; the others alternate fonts and join the words up.
    return font[1]!.length === 1 ? args.join(' ') : args.join('');
  }
  if (/^\.(?:SH|SS)\s/.test(line)) return line.replace(/^\.S[HS]\s+"?(.*?)"?$/, '$1');
  return line.startsWith('.') ? '' : line;
}

/** The README's `### heading` subsections within its generated reference: heading → body lines. */
export function readmeReferenceSections(markdown: string): Map<string, string[]> {
  const begin = markdown.indexOf('<!-- reference:begin');
  const end = markdown.indexOf('<!-- reference:end -->');
  if (begin === -1 || end < begin) throw new Error('README.md has no generated reference section');
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of markdown.slice(begin, end).split('\n')) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) sections.set(heading[1]!.trim(), (current = []));
    else current?.push(line);
  }
  return sections;
}

/** Long options in the first cell of a README table: `| \`-p, --port PORT\` | ... |`. */
export function readmeOptions(body: string[]): Set<string> {
  const names = new Set<string>();
  for (const line of body) {
    const cell = /^\| `([^`]+)` \|/.exec(line)?.[1];
    if (!cell || !cell.includes('--')) continue;
    for (const match of cell.matchAll(/(?:^|[\s,])--([A-Za-z0-9][\w-]*)/g)) names.add(match[1]!);
  }
  return names;
}

/** "missing --a, --b; extra --c", or '' when the two sets are equal. */
export function describeDifference(expected: Set<string>, actual: Set<string>): string {
  const missing = [...expected].filter((name) => !actual.has(name)).map((name) => `--${name}`);
  const extra = [...actual].filter((name) => !expected.has(name)).map((name) => `--${name}`);
  return [
    missing.length > 0 ? `missing ${missing.join(', ')}` : '',
    extra.length > 0 ? `extra ${extra.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
