import type { ChildProcess } from 'node:child_process';
import { spawnCli } from '../../helpers/run-cli.js';

/** A `tlsecho serve` or `tlsecho proxy` child that said where it listens. Killed when the test ends. */
export interface ListeningChild {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once `pattern` appears on stdout or stderr; rejects after `timeoutMs` saying what was seen. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code once the child has exited. */
  exited(): Promise<number | null>;
}

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

export async function startListening(
  args: string[],
  options: { cwd?: string } = {},
): Promise<ListeningChild> {
  const child = spawnCli(args, { cwd: options.cwd });
  const text = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: string) => {
    text.stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: string) => {
    text.stderr += chunk;
    for (const listener of listeners) listener();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(text[stream])) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${pattern} not seen on ${stream} within ${timeoutMs} ms:\n${text.stderr}\n${text.stdout}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  await Promise.race([
    waitFor('stderr', LISTENING),
    exit.then((code) => Promise.reject(new Error(`tlsecho exited with ${code}: ${text.stderr}`))),
  ]);
  return {
    child,
    port: Number(LISTENING.exec(text.stderr)![1]),
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor,
    exited: () => exit,
  };
}
