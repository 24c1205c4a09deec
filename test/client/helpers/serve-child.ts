import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, cliEnv, spawnCli } from '../../helpers/run-cli.js';

export interface ServeChild {
  port: number;
  /** Everything the server wrote on stderr so far. */
  log(): string;
  /** Stops the server (needed only for one started with `shared`). */
  stop(): Promise<void>;
}

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

/**
 * Starts a real `tlsecho serve` on 127.0.0.1 and a free port, as a child process, and resolves once it says
 * where it listens. Killed when the test ends; with `shared` (from beforeAll), when the caller stops it.
 */
export function startServeChild(
  args: string[],
  options: { shared?: boolean; timeoutMs?: number } = {},
): Promise<ServeChild> {
  const serveArgs = ['serve', '--host', '127.0.0.1', '--port', '0', ...args];
  const child: ChildProcess = options.shared
    ? spawn(process.execPath, [BIN, ...serveArgs], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawnCli(serveArgs);
  let stderr = '';
  child.stdout!.resume();
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => void stop().then(() => reject(new Error(`tlsecho serve did not start: ${stderr}`))),
      options.timeoutMs ?? 10_000,
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      const match = LISTENING.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), log: () => stderr, stop });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tlsecho serve exited with ${code}: ${stderr}`));
    });
  });
}

/** `startServeChild` with the test PKI's server certificate and key, the usual start of a CLI test. */
export function startServeWithPki(
  pki: { server: { certFile: string; keyFile: string } },
  args: string[] = [],
  options: { shared?: boolean; timeoutMs?: number } = {},
): Promise<ServeChild> {
  return startServeChild(['--cert', pki.server.certFile, '--key', pki.server.keyFile, ...args], options);
}
