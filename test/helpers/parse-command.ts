import yargs from 'yargs';
import type { CommandModule } from 'yargs';

/**
 * Parses `args` with a command module's real builder (strict, cross-flag rules included) and returns the
 * parsed arguments its handler would get; the handler itself is not run. For flags → options tables.
 */
export async function parseCommandArgs<Args>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any command module, whatever its argument type
  command: CommandModule<any, any>,
  args: string[],
): Promise<Args> {
  const name = String(command.command).split(' ')[0]!;
  let parsed: Args | undefined;
  await yargs([name, ...args])
    .command({ ...command, handler: (argv) => void (parsed = argv as Args) })
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseAsync();
  return parsed!;
}
