import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const BIN = fileURLToPath(new URL('../../bin/tlsecho', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed; stdin is a pipe (never a TTY) either way. */
  input?: string | Buffer;
  /** Kill the child after this long (a test bug, not a product timeout). Default 20 s. */
  killAfterMs?: number;
}

/** The environment every CLI test runs in: no TTY, CI set, no colour, no inherited TLSECHO_* settings. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TLSECHO_')) env[key] = value;
  }
  return { ...env, CI: 'true', NO_COLOR: '1', ...extra };
}

/** Starts `node bin/tlsecho ...args` as a child; the caller reads or waits. Killed when the test ends. */
export function spawnCli(args: string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Runs `node bin/tlsecho ...args` to completion and collects its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  return collect(child, options);
}

export function collect(
  child: ChildProcess,
  options: Pick<RunOptions, 'input' | 'killAfterMs'> & {
    /** Leave stdin open (no end of input), for a test that signals the child mid-session. */
    keepStdinOpen?: boolean;
  } = {},
): Promise<CliResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin!.on('error', () => {}); // the child may exit before reading all of its input
  if (options.input !== undefined) child.stdin!.end(options.input);
  else if (!options.keepStdinOpen) child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(stdout);
      resolve({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        stdoutBytes,
      });
    });
  });
}
