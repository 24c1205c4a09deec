import { canShowSpinner, type Io } from '../io.js';
import { promptPassword } from './prompts.js';

/**
 * Hands the library the two things only a terminal front end has: a password prompt and a spinner. ora is
 * loaded only when a spinner could be shown at all (stderr is a terminal and CI is unset), so scripts, pipes
 * and CI never pay for it; @inquirer/prompts is loaded by `prompts.ts` only when a prompt is shown.
 */
export async function withTerminalCapabilities(io: Io): Promise<Io> {
  const capable: Io = { ...io };
  capable.promptPassword ??= (message) => promptPassword(io, message);
  if (capable.spinner === undefined && canShowSpinner(io)) {
    const { oraSpinner } = await import('./spinner.js');
    capable.spinner = await oraSpinner(io);
  }
  return capable;
}
