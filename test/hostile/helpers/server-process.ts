import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN, cliEnv } from '../../helpers/run-cli.js';
import type { HostilePki } from './pki.js';

/** One JSON log line of `tlsecho serve --json`. */
export interface LogEvent {
  time: string;
  level: string;
  msg: string;
  event?: string;
  [field: string]: unknown;
}

export interface ServerMemory {
  /** Resident set size now, in bytes. */
  rss: number;
  /** The peak resident set size so far (VmHWM), in bytes. */
  peak: number;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `tlsecho serve` running as a child process, as an operator would run it. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Every log line so far, in order. */
  readonly events: LogEvent[];
  readonly exited: Promise<ProcessExit>;
  /** Resolves with the first log line (already written or still to come) that satisfies `predicate`. */
  waitFor(predicate: (event: LogEvent) => boolean, timeoutMs?: number): Promise<LogEvent>;
  /** Resolves once `count` log lines satisfy `predicate`. */
  waitForCount(predicate: (event: LogEvent) => boolean, count: number, timeoutMs?: number): Promise<void>;
  count(predicate: (event: LogEvent) => boolean): number;
  memory(): ServerMemory;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM, then the exit (SIGKILL after `timeoutMs`, which fails the caller). */
  stop(timeoutMs?: number): Promise<ProcessExit>;
  /** SIGKILL if still running: for `afterAll`. */
  kill(): void;
}

export interface StartOptions {
  cwd?: string;
  /** Per-line hook, e.g. to time a close as it is logged. */
  onEvent?: (event: LogEvent) => void;
}

/**
 * Starts `node bin/tlsecho serve --json --port 0` with the suite's certificate and the given flags, and
 * resolves when its readiness line names the port. The server runs in its own process so that its memory
 * can be read from /proc and a crash shows as an exit.
 */
export async function startServerProcess(
  pki: HostilePki,
  args: string[],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--cert',
      pki.certFile,
      '--key',
      pki.keyFile,
      '--json',
      ...args,
    ],
    { cwd: options.cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: LogEvent[] = [];
  const watchers = new Set<() => void>();
  let stderrText = '';
  let partial = '';
  child.stdout!.resume();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderrText = (stderrText + text).slice(-8192);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let event: LogEvent;
      try {
        event = JSON.parse(line) as LogEvent;
      } catch {
        // Not a log line: a crash prints a stack. Keep it visible as a line of its own.
        event = { time: new Date().toISOString(), level: 'raw', msg: line };
      }
      events.push(event);
      options.onEvent?.(event);
    }
    for (const watcher of [...watchers]) watcher();
  });
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const watcher of [...watchers]) watcher();
    });
  });
  let exit: ProcessExit | undefined;
  void exited.then((value) => (exit = value));

  const count = (predicate: (event: LogEvent) => boolean) => events.filter(predicate).length;
  const waitForCount = (predicate: (event: LogEvent) => boolean, wanted: number, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (count(predicate) >= wanted) {
          done();
          resolve();
        } else if (exit) {
          done();
          reject(new Error(`the server exited (${describeExit(exit)}) first; stderr ends:\n${stderrText}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        const seen = `${count(predicate)} of ${wanted} matching log lines within ${timeoutMs} ms`;
        reject(new Error(`${seen}; stderr ends:\n${stderrText}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });
  const waitFor = async (predicate: (event: LogEvent) => boolean, timeoutMs = 10_000) => {
    await waitForCount(predicate, 1, timeoutMs);
    return events.find(predicate)!;
  };

  let listening: LogEvent;
  try {
    listening = await waitFor((event) => event.event === 'listening', 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    port: Number(listening.port),
    events,
    exited,
    waitFor,
    waitForCount,
    count,
    memory: () => readMemory(pid),
    alive: () => exit === undefined,
    async stop(timeoutMs = 15_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    kill() {
      if (!exit) child.kill('SIGKILL');
    },
  };
}

/** VmRSS and VmHWM of a process, from /proc (Linux). */
export function readMemory(pid: number): ServerMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** How many files this process may open (the soft limit), from /proc. */
export function openFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? '0';
  return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/** `42.1 MiB` */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** Events of one kind, e.g. `closed` or `handshake-failed`. */
export function isEvent(name: string, fields: Record<string, unknown> = {}): (event: LogEvent) => boolean {
  return (event) =>
    event.event === name && Object.entries(fields).every(([key, value]) => event[key] === value);
}
