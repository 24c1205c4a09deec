import ora from 'ora';
import { canShowSpinner, useColor, type InteractionFlags, type Io } from './io.js';

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const silentSpinner: Spinner = { update() {}, succeed() {}, fail() {}, stop() {} };

/** An ora spinner on stderr when a person is watching (see `canShowSpinner`); otherwise one that draws nothing. */
export function startSpinner(io: Io, text: string, flags: InteractionFlags = {}): Spinner {
  if (!canShowSpinner(io, flags)) return silentSpinner;
  // A terminal that reports zero columns (a pty nobody sized, as `script` or `docker run -t` can give) makes
  // ora count Infinity lines to clear and spin forever: draw nothing there.
  if ((io.stderr as { columns?: number }).columns === 0) return silentSpinner;
  const spinner = ora({
    text,
    stream: io.stderr,
    isEnabled: true,
    color: useColor(io, flags) ? 'cyan' : false,
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
}
