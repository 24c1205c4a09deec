// yargs lays out help text with cliui and string-width, and loading those two (with wrap-ansi, strip-ansi,
// emoji-regex and get-east-asian-width behind them) was about 45 ms of every run's start-up, help or not.
// In the bundled CLI (scripts/bundle-cli.ts) yargs' imports of both resolve to stand-ins that call
// `deferredHelpLayout()`, and `main` loads the real packages first on the runs that print help. Run from
// source (tests, tsx) yargs imports them itself and these functions only load a module twice.

/** What yargs takes from the two packages. */
interface HelpLayout {
  cliui: (options: unknown) => unknown;
  stringWidth: (text: string) => number;
}

let loaded: HelpLayout | undefined;

/** Loads the help layout packages; call before anything that prints help. */
export async function loadHelpLayout(): Promise<void> {
  if (loaded !== undefined) return;
  const [cliui, stringWidth] = await Promise.all([
    // @ts-expect-error cliui ships no type declarations; yargs calls it with its own options object.
    import('cliui') as Promise<{ default: HelpLayout['cliui'] }>,
    import('string-width'),
  ]);
  loaded = { cliui: cliui.default, stringWidth: stringWidth.default };
}

/** The loaded layout, for the bundle's stand-ins. A run that lays out help without loading it first is a bug. */
export function deferredHelpLayout(): HelpLayout {
  if (loaded === undefined) throw new Error('help layout used before loadHelpLayout()');
  return loaded;
}

/**
 * Whether a run will print help, so that `main` loads the layout first: no arguments at all (main prints the
 * overview), `--help`, or `-h` alone or in a cluster of short flags.
 */
export function mayPrintHelp(argv: readonly string[]): boolean {
  if (argv.length === 0) return true;
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg.startsWith('--help=')) return true;
    if (/^-[A-Za-z]*h[A-Za-z]*$/.test(arg)) return true;
  }
  return false;
}
