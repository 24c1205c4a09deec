import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { generateDocs, ROOT } from '../../scripts/docs/generate.js';
import {
  describeDifference,
  helpCommands,
  helpOptions,
  helpText,
  manOptions,
  manSections,
  readManPage,
  readmeOptions,
  readmeReferenceSections,
  readReadme,
} from './helpers/documented.js';

// The docs cannot drift from the parser: the committed man page and README reference must be exactly what
// the generator makes from the command definitions, and, checked independently of the generator, every
// option `--help` lists must be documented in both, and nothing else.

test('man/tlsecho.1 and the README reference are what `npm run man` makes from the code', async () => {
  for (const [path, expected] of await generateDocs()) {
    const committed = await readFile(path, 'utf8');
    // A diff of whole pages is unreadable; name the file and the first line that differs.
    const committedLines = committed.split('\n');
    const expectedLines = expected.split('\n');
    const first = expectedLines.findIndex((line, index) => line !== committedLines[index]);
    const where = first === -1 ? committedLines.length : first + 1;
    expect(
      committed === expected ? '' : `${relative(ROOT, path)} differs from line ${where}: run npm run man`,
    ).toBe('');
  }
});

describe('every option --help lists is documented, and no other', () => {
  let commands: string[];
  let globalOptions: Set<string>;
  const man = manSections(readManPage());
  const readme = readmeReferenceSections(readReadme());

  beforeAll(async () => {
    const rootHelp = await helpText([]);
    commands = helpCommands(rootHelp);
    globalOptions = helpOptions(rootHelp);
  });

  test('the commands are the ones tlsecho --help lists', () => {
    expect(commands).toEqual([
      'gencert',
      'serve',
      'connect',
      'send',
      'bench',
      'proxy',
      'replay',
      'completion',
    ]);
    const manCommands = [...man.keys()].filter((title) => title.startsWith('TLSECHO '));
    expect(manCommands).toEqual(commands.map((command) => `TLSECHO ${command.toUpperCase()}`));
    const readmeCommands = [...readme.keys()].filter((heading) => heading.startsWith('tlsecho '));
    expect(readmeCommands).toEqual(commands.map((command) => `tlsecho ${command}`));
  });

  test('options of every command: --debug, --color, --help, --version', () => {
    expect([...globalOptions].sort()).toEqual(['color', 'debug', 'help', 'version']);
    const inMan = manOptions(man.get('GLOBAL OPTIONS') ?? []);
    expect(describeDifference(globalOptions, inMan), 'man page GLOBAL OPTIONS').toBe('');
    const inReadme = readmeOptions(readme.get('Options of every command') ?? []);
    expect(describeDifference(globalOptions, inReadme), 'README "Options of every command"').toBe('');
  });

  test.each(['gencert', 'serve', 'connect', 'send', 'bench', 'proxy', 'replay', 'completion'])(
    'tlsecho %s',
    async (command) => {
      const declared = helpOptions(await helpText([command]));
      for (const name of globalOptions) declared.delete(name);
      if (command !== 'completion') expect(declared.size).toBeGreaterThan(0);

      const inMan = manOptions(man.get(`TLSECHO ${command.toUpperCase()}`) ?? []);
      expect(describeDifference(declared, inMan), `man page, TLSECHO ${command.toUpperCase()}`).toBe('');
      const inReadme = readmeOptions(readme.get(`tlsecho ${command}`) ?? []);
      expect(describeDifference(declared, inReadme), `README reference, tlsecho ${command}`).toBe('');
    },
  );
});

test('the difference names the missing and the extra option', () => {
  expect(describeDifference(new Set(['packet', 'max-frame']), new Set(['packet', 'max-frames']))).toBe(
    'missing --max-frame; extra --max-frames',
  );
});
