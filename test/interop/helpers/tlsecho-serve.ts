import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, cliEnv } from '../../helpers/run-cli.js';
import type { CertPair } from './pki.js';

const START_TIMEOUT_MS = 15_000;

/** A `tlsecho serve` child process (the real CLI) on 127.0.0.1 and a port the system chose. */
export class ServeProcess {
  #stderr = '';
  readonly #waiters = new Set<() => void>();
  readonly #exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    public port = 0,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.#stderr += text;
      for (const wake of this.#waiters) wake();
    });
    child.stdout!.resume();
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        for (const wake of this.#waiters) wake();
        resolve(code);
      });
    });
  }

  /** Starts `tlsecho serve --port 0 --cert … --key … ARGS` and waits for its "listening on" line. */
  static async start(cert: CertPair, args: string[]): Promise<ServeProcess> {
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
        cert.certFile,
        '--key',
        cert.keyFile,
        ...args,
      ],
      { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new ServeProcess(child);
    const line = await server.waitForLog(/listening on \S+:(\d+) /, START_TIMEOUT_MS);
    server.port = Number(/:(\d+) /.exec(line)![1]);
    return server;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the first stderr line matching `pattern`; rejects after `timeoutMs` or if serve exits. */
  waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.#stderr.split('\n').find((candidate) => pattern.test(candidate));
        if (line !== undefined) return finish(() => resolve(line));
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(() => reject(new Error(`serve exited before logging ${pattern}:\n${this.#stderr}`)));
        }
      };
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(`no serve log line matching ${pattern} within ${timeoutMs} ms:\n${this.#stderr}`),
            ),
          ),
        timeoutMs,
      );
      this.#waiters.add(check);
      check();
    });
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }
}
