// The only module that talks to @inquirer/prompts: tests mock this file, nothing deeper. The library is loaded
// when a prompt is shown, since most runs (pipes, scripts, CI) never show one.
import { InterruptedError } from '../errors.js';
import { importModule } from '../import-module.js';
import type { Io } from '../io.js';

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

const inquirer = () => importModule<typeof import('@inquirer/prompts')>('@inquirer/prompts');

const context = (io: Io) => ({ input: io.stdin, output: io.stderr, clearPromptOnDone: false });

// Ctrl-C inside a prompt rejects with ExitPromptError; to the user that is an interruption, not a bug.
async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') throw new InterruptedError();
    throw error;
  }
}

export function promptText(
  io: Io,
  message: string,
  options: { default?: string; validate?: (value: string) => true | string } = {},
): Promise<string> {
  return guarded(async () => (await inquirer()).input({ message, ...options }, context(io)));
}

export function promptSelect<T>(io: Io, message: string, choices: Choice<T>[], defaultValue?: T): Promise<T> {
  return guarded(async () =>
    (await inquirer()).select<T>({ message, choices, default: defaultValue }, context(io)),
  );
}

export function promptCheckbox<T>(
  io: Io,
  message: string,
  choices: Array<Choice<T> & { checked?: boolean }>,
): Promise<T[]> {
  return guarded(async () => (await inquirer()).checkbox<T>({ message, choices }, context(io)));
}

export function promptConfirm(io: Io, message: string, defaultValue = false): Promise<boolean> {
  return guarded(async () => (await inquirer()).confirm({ message, default: defaultValue }, context(io)));
}

export function promptPassword(io: Io, message: string): Promise<string> {
  return guarded(async () => (await inquirer()).password({ message, mask: '*' }, context(io)));
}
