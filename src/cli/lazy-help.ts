import type { Argv } from 'yargs';

interface UsageInternals {
  cacheHelpMessage?: () => void;
}

/**
 * yargs renders a command's whole help text each time the command runs (yargs' `runCommand` calls
 * `usage.cacheHelpMessage()`), only to keep it for a `showHelp()` the handler might call later. Laying it out
 * (cliui measuring every description with string-width) was about 50 ms of a one-shot `tlsecho send`. No
 * handler here shows help, so the cache is skipped; `--help`, `getHelp()` and usage errors still render it
 * when it is actually printed.
 */
export function renderHelpOnlyWhenShown(parser: Argv): void {
  const internals = (
    parser as unknown as { getInternalMethods?: () => { getUsageInstance(): UsageInternals } }
  ).getInternalMethods;
  const usage = typeof internals === 'function' ? internals.call(parser).getUsageInstance() : undefined;
  // A yargs without this internal keeps its own behaviour: slower, never wrong.
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}
