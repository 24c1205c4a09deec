import yargs from 'yargs';
import { beforeAll, describe, expect, test } from 'vitest';
import { collectReference } from '../../scripts/docs/cli-reference.js';
import { allCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import {
  helpOptions,
  helpOptionsByGroup,
  helpSections,
  helpText,
  manSections,
  readManPage,
  readReadme,
} from './helpers/documented.js';
import { logicalLines, tlsechoCommands } from './helpers/shell-words.js';

const reference = collectReference();
const COMMANDS = ['gencert', 'serve', 'connect', 'send', 'bench', 'proxy', 'replay'];

describe('every command --help: a one-line purpose, grouped options, 2 to 4 examples', () => {
  let globalOptions: Set<string>;
  beforeAll(async () => {
    globalOptions = helpOptions(await helpText([]));
  });

  test.each(COMMANDS)('tlsecho %s --help', async (command) => {
    const help = await helpText([command]);
    const documented = reference.commands.find((candidate) => candidate.name === command)!;
    const [usage, blank, purpose, after] = help.split('\n');
    expect(usage).toMatch(new RegExp(`^tlsecho ${command}\\b`));
    expect([blank, purpose, after]).toEqual(['', documented.describe, '']);

    // Only the options every command shares may sit under yargs' catch-all "Options:" heading.
    const groups = helpOptionsByGroup(help);
    const ungrouped = (groups.get('Options') ?? []).filter((name) => !globalOptions.has(name));
    expect(ungrouped, `tlsecho ${command}: options outside a group`).toEqual([]);
    expect(groups.size).toBeGreaterThanOrEqual(2);

    expect(documented.examples.length).toBeGreaterThanOrEqual(2);
    expect(documented.examples.length).toBeLessThanOrEqual(4);
    expect(helpSections(help).get('Examples')?.length).toBeGreaterThanOrEqual(documented.examples.length);
  });
});

// Parses like the real CLI (strict, with every command's coercions and cross-flag checks) but runs no
// handler: an example that names a flag that does not exist, or breaks a rule, fails here.
async function parseOnly(args: string[]): Promise<void> {
  const commands = allCommands(createMemoryIo()).map((module) => ({ ...module, handler: () => {} }));
  await yargs(args)
    .scriptName('tlsecho')
    .command(commands)
    .option('debug', { type: 'boolean' })
    .option('color', { type: 'boolean' })
    .completion('completion', false)
    .demandCommand(1)
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseAsync(args, {}, () => {});
}

function examplesInHelp(): string[] {
  return reference.commands.flatMap((command) => command.examples.map((example) => example.command));
}

// Unfilled lines (.nf ... .fi) of the man page: its examples and the commands in its prose.
function examplesInManPage(): string[] {
  const lines: string[] = [];
  for (const body of manSections(readManPage()).values()) {
    let display = false;
    for (const line of body) {
      if (line === '.nf') display = true;
      else if (line === '.fi') display = false;
      else if (display) lines.push(line.replace(/\\-/g, '-').replace(/\\e/g, '\\').replace(/\\&/g, ''));
    }
  }
  return lines;
}

function examplesInReadme(): string[] {
  const blocks = [...readReadme().matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)];
  return blocks.flatMap((block) => logicalLines(block[1]!));
}

describe('every tlsecho command in the docs parses', () => {
  test.each([
    ['--help examples', examplesInHelp],
    ['the man page', examplesInManPage],
    ['the README', examplesInReadme],
  ])('in %s', async (_where, source) => {
    const commands = source().flatMap((line) => tlsechoCommands(line).map((args) => ({ line, args })));
    expect(commands.length).toBeGreaterThan(3);
    const failures: string[] = [];
    for (const { line, args } of commands) {
      await parseOnly(args).catch((error: Error) => failures.push(`${line.trim()}\n  -> ${error.message}`));
    }
    expect(failures).toEqual([]);
  });

  test('a command with an unknown flag or a broken rule does not', async () => {
    await expect(parseOnly(['send', 'localhost:7000', '--expect-echos', 'a'])).rejects.toThrow(
      /expect-echos/,
    );
    await expect(parseOnly(['gencert', '--ca', '--client'])).rejects.toThrow(/--ca and --client/);
    await expect(parseOnly(['serve', '--packet', '3'])).rejects.toThrow(/invalid packet mode '3'/);
  });

  test('the shell splitter finds tlsecho behind pipes, prefixes and keywords, and drops redirections', () => {
    expect(
      tlsechoCommands(
        `printf 'a\\nb\\n' | TLSECHO_PACKET=2 npx tlsecho connect :7000 --ca "c a.crt" < in > out 2>&1 && echo ok # tlsecho x`,
      ),
    ).toEqual([['connect', ':7000', '--ca', 'c a.crt']]);
    expect(tlsechoCommands('if tlsecho send h:1 a; then tlsecho send h:1 b 2> err; fi')).toEqual([
      ['send', 'h:1', 'a'],
      ['send', 'h:1', 'b'],
    ]);
  });
});

/** `tlsecho ...args --help` as a terminal `columns` wide shows it. */
async function helpAt(args: string[], columns: number): Promise<string> {
  const io = createMemoryIo({ tty: true });
  Object.assign(io.stdout, { columns });
  const code = await main([...args, '--help'], io);
  if (code !== 0) throw new Error(`tlsecho ${args.join(' ')} --help exited ${code}: ${io.errors()}`);
  return io.output();
}

describe('--help examples can be copied line by line', () => {
  const declared = (command: string) =>
    reference.commands.find((candidate) => candidate.name === command)!.examples;

  test.each([80, 150])(
    'at %i columns every example command is one whole line under its description',
    async (columns) => {
      for (const command of COMMANDS) {
        const help = await helpAt([command], columns);
        const lines = helpSections(help).get('Examples') ?? [];
        const expected = declared(command).flatMap((example) => [
          `  # ${example.description}`,
          `  ${example.command}`,
        ]);
        expect(lines, `tlsecho ${command} --help at ${columns} columns`).toEqual(expected);
        for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(columns);
      }
    },
  );

  test.each([80, 150])(
    'at %i columns tlsecho --help ends with a few first steps that parse',
    async (columns) => {
      const help = await helpAt([], columns);
      const lines = helpSections(help).get('Examples') ?? [];
      const commands = lines.filter((line) => !line.startsWith('  # '));
      expect(lines.length).toBe(commands.length * 2);
      expect(commands.length).toBeGreaterThanOrEqual(3);
      expect(commands.length).toBeLessThanOrEqual(5);
      for (const line of commands) {
        expect(line).toMatch(/^ {2}tlsecho /);
        for (const args of tlsechoCommands(line)) await parseOnly(args);
      }
      for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(columns);
    },
  );
});
