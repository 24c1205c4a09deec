// Runs the `serve` core in-process with an in-memory Io: the log lines it writes, the port it announces,
// and signals delivered through the Io, without a child process.
import { onTestFinished } from 'vitest';
import { serve, type ServeOptions } from '../../../src/server/serve.js';
import { createMemoryIo, type MemoryIo } from '../../helpers/memory-io.js';

export interface ServeRun {
  io: MemoryIo;
  port: number;
  /** Settles when `serve` returns (resolves) or fails (rejects). */
  done: Promise<void>;
  /** Resolves when stderr has a line matching `pattern`; rejects after `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(name: 'SIGINT' | 'SIGTERM'): void;
}

export const BASE_OPTIONS: ServeOptions = {
  host: '127.0.0.1',
  port: 0,
  packet: 4,
  minTls: '1.2',
  handler: 'echo',
  execFraming: 'line',
  maxConnections: 1000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  drainTimeoutMs: 10_000,
  json: false,
  logLevel: 'info',
  color: false,
};

export async function serveInProcess(options: Partial<ServeOptions>, cwd: string): Promise<ServeRun> {
  const io = createMemoryIo({ cwd });
  const done = serve({ ...BASE_OPTIONS, ...options }, io);
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  onTestFinished(async () => {
    if (finished) return;
    io.signals.emit('SIGTERM');
    io.signals.emit('SIGTERM');
    await done.catch(() => undefined);
  });
  const waitForLog = (pattern: RegExp, timeoutMs = 5000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = io
          .errors()
          .split('\n')
          .find((candidate) => pattern.test(candidate));
        if (line === undefined) return false;
        clearTimeout(timer);
        io.stderr.off('data', onData);
        resolve(line);
        return true;
      };
      const onData = () => void check();
      const timer = setTimeout(() => {
        io.stderr.off('data', onData);
        reject(
          new Error(`no log line matching ${pattern} within ${timeoutMs} ms; stderr so far:\n${io.errors()}`),
        );
      }, timeoutMs);
      if (!check()) io.stderr.on('data', onData);
    });
  const listening = waitForLog(/listening on /);
  const line = await Promise.race([
    listening,
    done.then(() => Promise.reject(new Error('serve returned early'))),
  ]);
  const port = Number(/:(\d+) \(/.exec(line)?.[1]);
  return { io, port, done, waitForLog, signal: (name) => io.signals.emit(name) };
}
