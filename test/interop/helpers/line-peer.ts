import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 20_000;

/** OTP's answer to a request that failed, e.g. `{badarg,{packet_to_large,256,255}}`. */
export class PeerError extends Error {
  constructor(readonly reason: string) {
    super(`OTP peer answered: error ${reason}`);
  }
}

type Pending = { resolve: (line: string) => void; reject: (error: Error) => void };

/**
 * A long-lived child process that says `ready`, then answers one request line with one line: `ok …` or
 * `error …`. The OTP fixtures speak this, so a test file starts its VM once (about half a second each).
 */
export class LinePeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: Pending[] = [];
  #stderr = '';
  #failure: Error | undefined;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (line) => this.#pending.shift()?.resolve(line));
    child.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    child.on('exit', (code, signal) => {
      this.#failure = new Error(
        `${child.spawnargs.join(' ')} exited (${code ?? signal}): ${this.#stderr.trim()}`,
      );
      for (const pending of this.#pending.splice(0)) pending.reject(this.#failure);
    });
  }

  static async start(command: string, args: string[], cwd?: string): Promise<LinePeer> {
    const peer = new LinePeer(spawn(command, args, { cwd, stdio: 'pipe' }));
    const greeting = await peer.#next(START_TIMEOUT_MS);
    if (greeting !== 'ready') throw new Error(`${command} said ${greeting} instead of ready`);
    return peer;
  }

  #next(timeoutMs: number): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        reject(new Error(`no answer from ${this.#child.spawnargs.join(' ')} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.push(pending);
    });
  }

  /** Sends one request; resolves with what follows `ok ` (maybe empty), rejects with a PeerError. */
  async request(...words: string[]): Promise<string> {
    const answer = this.#next(REQUEST_TIMEOUT_MS);
    this.#child.stdin.write(`${words.join(' ')}\n`);
    const line = await answer;
    if (line === 'ok' || line.startsWith('ok ')) return line.slice(3);
    if (line.startsWith('error ')) throw new PeerError(line.slice(6));
    throw new Error(`unexpected answer: ${line}`);
  }

  /** Closes stdin, which ends the peer, and waits for it to exit. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
