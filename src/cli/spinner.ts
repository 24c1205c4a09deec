import { importModule } from '../import-module.js';
import type { Io, Spinner } from '../io.js';

/**
 * The CLI's spinner capability (`Io.spinner`): ora on stderr. The gates live in `startSpinner`. ora is an ES
 * module, imported rather than bundled or required (see src/import-module.ts), and only when a spinner can show.
 */
export async function oraSpinner(io: Io): Promise<NonNullable<Io['spinner']>> {
  const { default: ora } = await importModule<typeof import('ora')>('ora');
  return (text, { color }): Spinner => {
    const spinner = ora({
      text,
      stream: io.stderr,
      isEnabled: true,
      color: color ? 'cyan' : false,
      // ora would otherwise swallow stdin while spinning, which breaks prompts and pipes that follow.
      discardStdin: false,
    }).start();
    return {
      update: (next) => {
        spinner.text = next;
      },
      succeed: (final) => void spinner.succeed(final),
      fail: (final) => void spinner.fail(final),
      stop: () => void spinner.stop(),
    };
  };
}
