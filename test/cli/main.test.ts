import { describe, expect, test } from 'vitest';
import { allCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/exit-codes.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { runCli } from '../helpers/run-cli.js';

describe('main in-process', () => {
  test('no command prints the help on stderr and exits with the usage code', async () => {
    const io = createMemoryIo();
    expect(await main([], io)).toBe(ExitCode.USAGE);
    expect(io.errors()).toMatch(/tlsecho <command>/);
    expect(io.output()).toBe('');
  });

  test('--help lists every subcommand on stdout', async () => {
    const io = createMemoryIo();
    expect(await main(['--help'], io)).toBe(ExitCode.OK);
    for (const command of ['gencert', 'serve', 'connect', 'send', 'bench', 'completion']) {
      expect(io.output()).toContain(`tlsecho ${command}`);
    }
  });

  test('an unknown flag is one usage line plus a hint, exit 2', async () => {
    const io = createMemoryIo();
    expect(await main(['serve', '--frobnicate'], io)).toBe(ExitCode.USAGE);
    expect(io.errors()).toMatch(/^tlsecho: unknown option --frobnicate\nhint: see 'tlsecho serve --help'\n$/);
  });

  test('a misspelt command suggests the right one', async () => {
    const io = createMemoryIo();
    expect(await main(['sned'], io)).toBe(ExitCode.USAGE);
    expect(io.errors()).toContain("unknown command 'sned': did you mean send?");
  });

  test('a misspelt proxy or replay is suggested too', async () => {
    const io = createMemoryIo();
    expect(await main(['replya'], io)).toBe(ExitCode.USAGE);
    expect(io.errors()).toContain("unknown command 'replya': did you mean replay?");
  });

  test.each(allCommands(createMemoryIo()).map((command) => String(command.command).split(' ')[0]!))(
    '%s: a usage error names the command, and is one JSON line with --json exactly when the command has --json',
    async (command) => {
      const plain = createMemoryIo();
      expect(await main([command, '--frobnicate'], plain)).toBe(ExitCode.USAGE);
      expect(plain.errors()).toContain(`hint: see 'tlsecho ${command} --help'`);
      const help = createMemoryIo();
      await main([command, '--help'], help);
      const hasJson = /^\s+--json\b/m.test(help.output());
      const io = createMemoryIo();
      expect(await main([command, '--json', '--frobnicate'], io)).toBe(ExitCode.USAGE);
      if (hasJson) expect(JSON.parse(io.errors().trim())).toMatchObject({ code: 'ERR_USAGE', exitCode: 2 });
      else expect(io.errors()).toMatch(/^tlsecho: /);
    },
  );

  test('--json turns a usage error into one JSON line', async () => {
    const io = createMemoryIo();
    expect(await main(['--json', 'nope'], io)).toBe(ExitCode.USAGE);
    const line = JSON.parse(io.errors().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', code: 'ERR_USAGE', exitCode: 2 });
  });

  test('TLSECHO_JSON=1 turns a usage error into one JSON line, as --json does', async () => {
    const io = createMemoryIo({ env: { TLSECHO_JSON: '1' } });
    expect(await main(['send'], io)).toBe(ExitCode.USAGE);
    const line = JSON.parse(io.errors().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', code: 'ERR_USAGE', exitCode: 2 });
  });

  test.each([
    ['TLSECHO_JSON=0', { TLSECHO_JSON: '0' }, ['send']],
    ['--no-json over TLSECHO_JSON=1', { TLSECHO_JSON: '1' }, ['send', '--no-json']],
    ['TLSECHO_JSON=1 for connect, which has no --json', { TLSECHO_JSON: '1' }, ['connect', '--frobnicate']],
  ])('%s leaves a usage error in plain words', async (_name, env, argv) => {
    const io = createMemoryIo({ env });
    expect(await main(argv, io)).toBe(ExitCode.USAGE);
    expect(io.errors()).toMatch(/^tlsecho: .*\nhint: /);
  });
});

describe('the installed binary', () => {
  test('--version prints the package version on stdout', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(result.stderr).toBe('');
  });

  test('completion prints a bash completion script', async () => {
    const result = await runCli(['completion']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'complete -o bashdefault -o default -F _tlsecho_yargs_completions tlsecho',
    );
  });
});

test('a cross-flag rule broken is a usage error, not a bug', async () => {
  const io = createMemoryIo();
  expect(await main(['connect', '--cert', 'client.crt', 'localhost:1'], io)).toBe(ExitCode.USAGE);
  expect(io.errors()).toMatch(/^tlsecho: --cert and --key go together: pass both or neither\n/);
});
