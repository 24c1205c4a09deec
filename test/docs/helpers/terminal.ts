import { execFile as execFileCallback } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onTestFinished } from 'vitest';
import { makeTempDir } from '../../helpers/tmpdir.js';

const execFile = promisify(execFileCallback);

/** A pseudo-terminal (a tmux pane) running one command: type into it and read its screen. */
export interface Terminal {
  keys(...keys: string[]): Promise<void>;
  /** The screen as text; with `escapes`, with the colour and attribute sequences tmux keeps for it. */
  screen(options?: { escapes?: boolean }): Promise<string>;
  waitForScreen(predicate: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit status, and every distinct screen (with escapes) seen until then. */
  watchUntilExit(timeoutMs?: number): Promise<{ status: number; screens: string[] }>;
  /** Resizes the terminal, as a person dragging its window edge: the program gets SIGWINCH. */
  resize(columns: number, rows?: number): Promise<void>;
}

const POLL_MS = 40;
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `argv` in a fresh tmux server (UTF-8, 120x30) in `cwd`, with exactly `env` plus the terminal's TERM.
 * The pane stays open after the command exits so the last screen can still be read; the server is killed
 * when the test ends.
 */
export async function startTerminal(
  argv: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<Terminal> {
  const dir = await makeTempDir('tlsecho-tty-');
  const statusFile = join(dir, 'status');
  const socket = `tlsecho-docs-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const assignments = Object.entries(options.env).map(([key, value]) => quote(`${key}=${value}`));
  const command =
    `cd ${quote(options.cwd)} && env -i "TERM=$TERM" ${assignments.join(' ')} ${argv.map(quote).join(' ')}; ` +
    `echo $? > ${quote(statusFile)}; exec sleep 600`;
  const tmux = (...args: string[]) => execFile('tmux', ['-u', '-L', socket, '-f', '/dev/null', ...args]);
  await tmux('new-session', '-d', '-x', '120', '-y', '30', command);
  onTestFinished(() =>
    tmux('kill-server').then(
      () => undefined,
      () => undefined,
    ),
  );
  const screen = async ({ escapes = false } = {}) =>
    (await tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []))).stdout;
  const status = async () => {
    const text = await readFile(statusFile, 'utf8').catch(() => '');
    return text.trim() === '' ? undefined : Number(text.trim());
  };
  return {
    keys: async (...keys) => {
      await tmux('send-keys', ...keys);
    },
    screen,
    async waitForScreen(predicate, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await screen();
        if (predicate(text)) return text;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}; it shows:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async watchUntilExit(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      const screens: string[] = [];
      for (;;) {
        // Read the status first: a screen taken after it is final, so nothing drawn before the exit is missed.
        const exited = await status();
        const text = await screen({ escapes: true });
        if (screens.at(-1) !== text) screens.push(text);
        if (exited !== undefined) return { status: exited, screens };
        if (Date.now() > deadline) throw new Error(`the command did not exit; the terminal shows:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    resize: async (columns, rows) => {
      await tmux('resize-window', '-x', String(columns), ...(rows === undefined ? [] : ['-y', String(rows)]));
    },
  };
}
