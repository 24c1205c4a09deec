import { expect, test } from 'vitest';
import yargs, { type Argv } from 'yargs';
import { allCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/exit-codes.js';
import { createMemoryIo } from '../helpers/memory-io.js';

// A short flag that means one thing in one command and another elsewhere is a trap: `bench HOST -p 7100`
// used to run 7,100 messages in flight against port 7000, because -p was --pipeline there and --port in
// serve, connect and send.

/** Every one-letter alias of every command, with the long option it stands for. */
function shortFlags(): Map<string, Set<string>> {
  const meanings = new Map<string, Set<string>>();
  const note = (short: string, long: string) => {
    if (!meanings.has(short)) meanings.set(short, new Set());
    meanings.get(short)!.add(long);
  };
  // The flags every command has: --help and --version.
  note('h', 'help');
  note('V', 'version');
  for (const module of allCommands(createMemoryIo())) {
    const parser = yargs([]);
    (module.builder as (y: Argv) => Argv)(parser);
    // getOptions is yargs' own (not in its typings): each option with the names that alias it.
    const { alias } = (
      parser as unknown as { getOptions(): { alias: Record<string, string[]> } }
    ).getOptions();
    for (const [name, names] of Object.entries(alias)) {
      for (const short of [name, ...names].filter((word) => word.length === 1)) {
        const long = [name, ...names].find((word) => word.length > 1 && !/[A-Z]/.test(word));
        if (long !== undefined) note(short, long);
      }
    }
  }
  return meanings;
}

test('every short flag means the same long option in every command', () => {
  const meanings = shortFlags();
  expect(meanings.get('p')).toEqual(new Set(['port']));
  const ambiguous = [...meanings]
    .filter(([, longs]) => longs.size > 1)
    .map(([short, longs]) => [short, [...longs]]);
  expect(ambiguous).toEqual([]);
});

test('bench HOST -p PORT connects to that port, as connect and send do', async () => {
  const io = createMemoryIo();
  // Port 1 on loopback refuses at once: the error names the port -p gave, not the default 7000.
  expect(await main(['bench', '127.0.0.1', '-p', '1', '-n', '1'], io)).toBe(ExitCode.CONNECT);
  expect(io.errors().split('\n')[0]).toBe('tlsecho: connection refused by 127.0.0.1:1');
});
