import { expect } from 'vitest';
import { allCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { createMemoryIo } from './memory-io.js';

/** A command line that `main` refused: its exit code and what the user saw on stderr. */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(stderr);
  }
}

/**
 * Runs `tlsecho <command> ...args` through the real `main` (the whole parser, strict, cross-flag rules, the
 * usage-error reporting), with the command's handler replaced by `toOptions`, and returns what that returns.
 * A refused command line rejects with a CliFailure holding the exit code and stderr, so a flags → options
 * table also asserts that every refusal is a usage error (exit 2) and not a bug (exit 1).
 */
export async function parseThroughMain<Args, Options>(
  command: string,
  args: string[],
  toOptions: (argv: Args) => Options,
): Promise<Options> {
  const io = createMemoryIo();
  let options: Options | undefined;
  const commands = allCommands(io).map((module) =>
    String(module.command).split(' ')[0] === command
      ? { ...module, handler: (argv: unknown) => void (options = toOptions(argv as Args)) }
      : module,
  );
  const code = await main([command, ...args], io, commands);
  if (code !== 0) throw new CliFailure(code, io.errors());
  return options!;
}

/** Asserts that a command line is refused as a usage error: exit 2, one `tlsecho:` line matching `message`, a hint. */
export async function expectUsageError(parsing: Promise<unknown>, message: RegExp | string): Promise<void> {
  const failure = await parsing.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(failure instanceof CliFailure)) throw new Error('expected the command line to be refused');
  expect({ exitCode: failure.exitCode, stderr: failure.stderr }).toEqual({
    exitCode: 2,
    stderr: expect.stringMatching(/^tlsecho: [^\n]+\nhint: [^\n]+\n$/),
  });
  const line = failure.stderr.split('\n')[0]!;
  if (typeof message === 'string') expect(line).toContain(message);
  else expect(line).toMatch(message);
}
