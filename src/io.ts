import type { Readable, Writable } from 'node:stream';

type TtyAware = { isTTY?: boolean };

/** Progress drawn on stderr while something slow runs (key generation, dialling). */
export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

/**
 * Everything a command may touch of the outside world. `processIo` builds it from `process`; tests build it
 * from in-memory streams, so commands run in-process without a child.
 *
 * The optional members are capabilities only a terminal front end can offer. The CLI supplies them (a
 * spinner drawn with ora, a password prompt from @inquirer/prompts); library code asks for them through
 * `startSpinner` and `promptPassword` and never imports those packages, so `import('tlsecho')` stays small.
 */
export interface Io {
  stdin: Readable & TtyAware;
  stdout: Writable & TtyAware;
  stderr: Writable & TtyAware;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal(signal: 'SIGINT' | 'SIGTERM', handler: () => void): () => void;
  /** Runs `handler` (synchronous work only) when the process exits, however it ends; returns the unsubscribe. */
  onExit(handler: () => void): () => void;
  /** Starts a spinner on stderr. Called only after `canShowSpinner` said a person is watching. */
  spinner?: (text: string, options: { color: boolean }) => Spinner;
  /** Reads a secret typed at the terminal. Called only after `isInteractive` said a person can answer. */
  promptPassword?: (message: string) => Promise<string>;
}

export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    onExit(handler) {
      process.on('exit', handler);
      return () => process.off('exit', handler);
    },
  };
}

/** Flags that decide whether a person is watching. */
interface InteractionFlags {
  json?: boolean;
  yes?: boolean;
  color?: boolean;
}

/** `CI=true` (or any non-empty value but `false`/`0`), as set by GitHub Actions, GitLab and most others. */
export function isCi(env: Io['env']): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** Prompts need a person at both ends: a terminal to read from and one to draw on. */
export function isInteractive(io: Io, flags: InteractionFlags = {}): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY) && !flags.json && !flags.yes && !isCi(io.env);
}

/** Spinners draw on stderr, so only stderr must be a terminal. */
export function canShowSpinner(io: Io, flags: InteractionFlags = {}): boolean {
  return Boolean(io.stderr.isTTY) && !flags.json && !isCi(io.env);
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off, as does --no-color or a non-terminal. */
export function useColor(io: Io, flags: InteractionFlags = {}): boolean {
  if (flags.color === false) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  return Boolean(io.stderr.isTTY);
}

const silentSpinner: Spinner = { update() {}, succeed() {}, fail() {}, stop() {} };

/** A spinner when a person is watching (see `canShowSpinner`) and the front end can draw one; otherwise one that draws nothing. */
export function startSpinner(io: Io, text: string, flags: InteractionFlags = {}): Spinner {
  if (io.spinner === undefined || !canShowSpinner(io, flags)) return silentSpinner;
  // A terminal that reports zero columns (a pty nobody sized, as `script` or `docker run -t` can give) makes
  // a spinner count Infinity lines to clear and spin forever: draw nothing there.
  if ((io.stderr as { columns?: number }).columns === 0) return silentSpinner;
  return io.spinner(text, { color: useColor(io, flags) });
}
