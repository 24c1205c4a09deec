import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./etf-peer.escript', import.meta.url));
const START_TIMEOUT_MS = 20_000;

type Pending = { resolve: (line: string) => void; reject: (error: Error) => void };

/**
 * One `escript` process per test file, answering requests line by line (see etf-peer.escript): starting
 * the VM costs about a second, a request well under a millisecond.
 */
export class OtpPeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: Pending[] = [];
  #failure: Error | undefined;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (line) => this.#pending.shift()?.resolve(line));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      this.#failure = new Error(`OTP peer exited with code ${code}: ${stderr.trim()}`);
      for (const pending of this.#pending.splice(0)) pending.reject(this.#failure);
    });
  }

  static async start(): Promise<OtpPeer> {
    const peer = new OtpPeer(spawn('escript', [SCRIPT], { stdio: 'pipe' }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('OTP peer did not start within 20 s')), START_TIMEOUT_MS);
    });
    try {
      const greeting = await Promise.race([peer.#next(), timeout]);
      if (greeting !== 'ready') throw new Error(`OTP peer said ${greeting}`);
    } finally {
      clearTimeout(timer);
    }
    return peer;
  }

  #next(): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  /** Sends one request; resolves with the answer after "ok ", rejects with OTP's error otherwise. */
  async request(...words: string[]): Promise<string> {
    const answer = this.#next();
    this.#child.stdin.write(`${words.join(' ')}\n`);
    const line = await answer;
    if (line.startsWith('ok ')) return line.slice(3);
    throw new Error(`OTP: ${line}`);
  }

  /** binary_to_term then term_to_binary(T, [{minor_version, N}]). Rejects when OTP refuses the bytes. */
  async reencode(bytes: Uint8Array, minorVersion: 1 | 2 = 2): Promise<Buffer> {
    return Buffer.from(
      await this.request('reencode', String(minorVersion), Buffer.from(bytes).toString('hex')),
      'hex',
    );
  }

  /** Evaluates an Erlang expression that yields a binary, e.g. `term_to_binary(self()).` */
  async evalBinary(source: string): Promise<Buffer> {
    return Buffer.from(await this.request('eval', Buffer.from(source, 'utf8').toString('hex')), 'hex');
  }

  /** What `io_lib:format("~0tp", [Term])` prints for the encoded term. */
  async format(bytes: Uint8Array): Promise<string> {
    return Buffer.from(await this.request('format', Buffer.from(bytes).toString('hex')), 'hex').toString(
      'utf8',
    );
  }

  /** Whether OTP decodes both encodings to exactly equal terms. */
  async equal(a: Uint8Array, b: Uint8Array): Promise<boolean> {
    return (
      (await this.request('equal', Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'))) === 'true'
    );
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    await exited;
  }
}
