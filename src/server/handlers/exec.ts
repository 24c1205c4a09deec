import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Decoder } from '../../codec/decoder.js';
import type { Framing } from '../../codec/framing.js';
import { LineDecoder } from '../../codec/line.js';
import { LineReframer } from '../../codec/line-reframer.js';
import { ProtocolError } from '../../errors.js';
import { escapeControls } from '../../escape.js';
import { describeSilentChild, SilentChildWatch, type SilenceReport } from './exec-silence.js';
import type { Handler, HandlerExit, HandlerSession, SessionContext } from './types.js';

import { EXEC_FRAMINGS, type ExecFraming } from '../defaults.js';

export { EXEC_FRAMINGS, type ExecFraming };

export interface ExecHandlerOptions {
  /** Run by the shell, once per connection. */
  command: string;
  framing: ExecFraming;
  /** The connection's framing: raw mode speaks it to the child, and its limit applies to the child's replies. */
  connectionFraming: Framing;
  env: Record<string, string | undefined>;
  /** Receives each line the child writes on stderr; without it the child's stderr is ours. */
  onStderr?: (id: number, line: string) => void;
  /** Receives advice for the log, e.g. that a child sits on its messages (see exec-silence.ts). */
  onWarning?: (id: number, message: string) => void;
}

// After SIGTERM a child gets this long to exit before SIGKILL.
const KILL_GRACE_MS = 2000;
// A stderr line longer than this is logged in pieces: a child must not make us buffer without bound.
const MAX_STDERR_LINE = 4096;
const NEWLINE = Buffer.from('\n');
// The child's replies go to the connection in batches of about this many bytes (headers counted), so that a
// child printing tiny lines fast (`yes`) is paused within a batch of the connection's reply bound instead of
// after a whole pipe read of them: 64 KiB of `y` lines is 32,768 replies.
const REPLY_BATCH_BYTES = 16 * 1024;
// All children together get about this many bytes of replies framed per turn of the event loop; the rest
// waits for the next turn. Twenty children printing `yes` then cost each turn a fraction of a millisecond, and
// the other connections' messages, read between turns, wait no longer than that.
const TURN_BUDGET = 32 * 1024;
let framedThisTurn = 0;
let turnEnding = false;
function spendTurn(bytes: number): void {
  framedThisTurn += bytes;
  if (turnEnding) return;
  turnEnding = true;
  setImmediate(() => {
    framedThisTurn = 0;
    turnEnding = false;
  });
}
// What a reply costs besides its payload, for the batch size: the largest header.
const REPLY_OVERHEAD = 4;

/**
 * `exec:CMD`: one child process per connection, bridged both ways. Each message becomes a line on the
 * child's stdin (or a raw frame), each line the child prints becomes a reply. The child exiting ends its
 * connection; the connection ending kills the child.
 */
export function createExecHandler(options: ExecHandlerOptions): Handler {
  const silence: SilenceReport = { reported: false };
  return {
    name: `exec:${options.command}`,
    open: (context) => {
      const session = new ExecSession(context, options);
      const onWarning = options.onWarning;
      if (onWarning) {
        const watch = new SilentChildWatch(silence, (unanswered, afterMs) =>
          onWarning(context.id, describeSilentChild(options.command, unanswered, afterMs)),
        );
        session.watch(watch);
      }
      return session;
    },
  };
}

type Child = ChildProcessByStdio<Writable, Readable, Readable | null>;

class ExecSession implements HandlerSession {
  readonly #context: SessionContext;
  readonly #options: ExecHandlerOptions;
  readonly #child: Child;
  readonly #decoder: Decoder;
  // Line mode, unless messages are traced: the child's lines framed in bulk, with no object per reply.
  readonly #reframer: LineReframer | undefined;
  readonly #exited: Promise<HandlerExit>;
  #exit: HandlerExit | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #closed = false;
  // The child's stdout is paused until the client takes the replies already queued; what it had written
  // past the point where we stopped waits, undecoded, in #decoder.
  #stdoutPaused = false;
  #silence: SilentChildWatch | undefined;

  /** Reports a child that takes messages and writes nothing (the buffering trap). */
  watch(silence: SilentChildWatch): void {
    this.#silence = silence;
    this.#child.stdout.on('data', () => silence.replied());
    // #exited only resolves (on the child's exit).
    void this.#exited.then(() => silence.stop());
  }

  constructor(context: SessionContext, options: ExecHandlerOptions) {
    this.#context = context;
    this.#options = options;
    const framing = options.connectionFraming;
    this.#decoder = options.framing === 'raw' ? framing.createDecoder() : new LineDecoder(framing.maxFrame);
    if (options.framing === 'line' && context.sendFramed)
      this.#reframer = new LineReframer(framing.mode, framing.maxFrame);
    // A process group of its own, so the whole pipeline the shell started can be stopped together.
    this.#child = spawn(options.command, {
      shell: true,
      detached: true,
      stdio: ['pipe', 'pipe', options.onStderr ? 'pipe' : 'inherit'],
      env: { ...options.env, ...connectionEnvironment(context) },
    }) as Child;
    const child = this.#child;
    this.#exited = new Promise((resolve) => {
      child.on('close', (exitCode, signal) => {
        clearTimeout(this.#killTimer);
        this.#exit = { exitCode, signal };
        this.#flushDecoder();
        context.finish(this.#exit);
        resolve(this.#exit);
      });
    });
    child.on('error', (error) => context.fail(new Error(`cannot run ${options.command}: ${error.message}`)));
    // Writing to a child that has exited fails with EPIPE; its exit is what gets reported.
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk: Buffer) => this.#fromChild(chunk));
    if (child.stderr && options.onStderr)
      forwardLines(child.stderr, (line) => options.onStderr!(context.id, line));
  }

  message(frame: Buffer): void | Promise<void> {
    const stdin = this.#child.stdin;
    if (this.#exit || stdin.destroyed) return;
    let ok: boolean;
    if (this.#options.framing === 'raw') {
      const [header, body] = this.#options.connectionFraming.encoder.encode(frame);
      stdin.cork();
      stdin.write(header);
      ok = stdin.write(body);
      stdin.uncork();
    } else {
      if (frame.includes(0x0a)) {
        throw new ProtocolError(
          'a message holds a newline, which would reach the command as two lines',
          'ERR_INVALID_FRAME',
          { hint: 'use --exec-framing raw to pass messages as frames' },
        );
      }
      // Corked, the two parts leave in one writev: no copy of the message.
      stdin.cork();
      stdin.write(frame);
      ok = stdin.write(NEWLINE);
      stdin.uncork();
    }
    this.#silence?.sent();
    // Hold back the next message (and reading from the client) until the child has taken this one.
    if (!ok) return new Promise((resolve) => this.#whenStdinWritable(resolve));
  }

  /** The client is done: close the child's stdin and wait for it to finish and exit. */
  async end(): Promise<void> {
    this.#child.stdin.end();
    await this.#exited;
  }

  close(): void {
    this.#silence?.stop();
    if (this.#exit || this.#closed) return;
    this.#closed = true;
    const child = this.#child;
    child.stdin.destroy();
    signalGroup(child, 'SIGTERM');
    // Kept referenced, so a server that is stopping waits for a stubborn child rather than orphaning it.
    this.#killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  }

  #whenStdinWritable(resolve: () => void): void {
    const stdin = this.#child.stdin;
    const done = () => {
      stdin.off('drain', done);
      stdin.off('close', done);
      resolve();
    };
    stdin.on('drain', done);
    stdin.on('close', done);
  }

  #fromChild(chunk: Buffer): void {
    if (this.#reframer) {
      this.#reframer.push(chunk);
      this.#frameFromChild(false);
    } else {
      this.#decodeFromChild(chunk);
    }
  }

  // As #decodeFromChild, with the lines framed into one buffer per batch, and one batch per turn of the event
  // loop: a pipe read of `y` lines is 32,768 replies, and twenty children framing theirs whole in one turn
  // kept every other connection waiting for all of it. Between batches the child's stdout is paused, so what
  // it writes meanwhile stays in the pipe.
  // A continuation (more of what was held back) waits for the next turn once the turn's budget is spent; what
  // just arrived from a child that was keeping up goes out at once, so a child answering one message at a time
  // is never queued behind the ones flooding.
  #frameFromChild(continuation: boolean): void {
    if (this.#closed) return;
    if (continuation && framedThisTurn >= TURN_BUDGET) {
      this.#yieldTurn();
      return;
    }
    let framed;
    try {
      framed = this.#reframer!.take(REPLY_BATCH_BYTES);
    } catch (error) {
      this.#context.fail(error);
      return;
    }
    if (framed === undefined) {
      this.#pauseStdout(false, this.#frameMore);
      return;
    }
    spendTurn(framed.bytes);
    const ok = this.#context.sendFramed!(framed.pieces, framed.frames, framed.bytes);
    if (!ok) {
      this.#pauseStdout(true, this.#frameMore);
    } else if (framed.bytes >= REPLY_BATCH_BYTES) {
      // There may be more complete lines: the next batch after the other connections had their turn.
      this.#yieldTurn();
    } else {
      this.#pauseStdout(false, this.#frameMore);
    }
  }

  #yieldTurn(): void {
    if (!this.#stdoutPaused) {
      this.#stdoutPaused = true;
      this.#child.stdout.pause();
    }
    setImmediate(this.#frameMore);
  }

  readonly #frameMore = (): void => this.#frameFromChild(true);

  // Paused while the client is not taking replies, resumed (through `next`) once it has.
  #pauseStdout(blocked: boolean, next: () => void): void {
    const stdout = this.#child.stdout;
    if (blocked) {
      if (!this.#stdoutPaused) {
        this.#stdoutPaused = true;
        stdout.pause();
      }
      // waitForDrain() only resolves (at the latest when the connection closes).
      void this.#context.waitForDrain().then(next);
    } else if (this.#stdoutPaused) {
      this.#stdoutPaused = false;
      stdout.resume();
    }
  }

  // Sends the child's output as replies, a batch at a time, until the connection says its client is not
  // keeping up; then the child's stdout is paused and the rest stays in the decoder until 'drain'. The
  // child, its pipe full, blocks: backpressure end to end, with at most a batch more than the connection's
  // reply bound held here.
  #decodeFromChild(chunk?: Buffer): void {
    if (this.#closed) return;
    let replies: Buffer[] = [];
    let bytes = 0;
    let blocked = false;
    const onFrame = (frame: Buffer): boolean => {
      replies.push(frame);
      bytes += frame.length + REPLY_OVERHEAD;
      if (bytes < REPLY_BATCH_BYTES) return true;
      const batch = replies;
      replies = [];
      bytes = 0;
      if (this.#context.send(batch)) return true;
      blocked = true;
      return false;
    };
    try {
      if (chunk) this.#decoder.push(chunk, onFrame);
      else this.#decoder.resume(onFrame);
    } catch (error) {
      if (replies.length > 0) this.#context.send(replies);
      this.#context.fail(error);
      return;
    }
    if (replies.length > 0 && !this.#context.send(replies)) blocked = true;
    this.#pauseStdout(blocked, () => this.#decodeFromChild());
  }

  // The child is gone: whatever it wrote is sent, held back or not (at most one pipe read past the bound).
  #flushDecoder(): void {
    if (this.#reframer) {
      this.#flushReframer(this.#reframer);
      return;
    }
    const replies: Buffer[] = [];
    const collect = (frame: Buffer): void => {
      replies.push(frame);
    };
    try {
      this.#decoder.resume(collect);
      this.#decoder.end(collect);
    } catch (error) {
      this.#send(replies);
      this.#context.fail(error);
      return;
    }
    this.#send(replies);
  }

  #flushReframer(reframer: LineReframer): void {
    const sendFramed = this.#context.sendFramed!;
    try {
      for (;;) {
        const framed = reframer.take(Infinity) ?? reframer.end();
        if (framed === undefined) return;
        sendFramed(framed.pieces, framed.frames, framed.bytes);
      }
    } catch (error) {
      this.#context.fail(error);
    }
  }

  #send(replies: Buffer[]): void {
    if (replies.length > 0) this.#context.send(replies);
  }
}

// CGI and mod_ssl names, so scripts written for those read the same variables here. The client chose the
// subject and (through a PROXY header) the address: control characters in them are escaped, never passed on
// to a script that may log or echo them (and a NUL would make the spawn itself fail).
function connectionEnvironment(context: SessionContext): Record<string, string> {
  const env: Record<string, string> = {
    REMOTE_ADDR: escapeControls(context.remoteAddress),
    REMOTE_PORT: String(context.remotePort),
  };
  if (context.protocol) env.SSL_PROTOCOL = context.protocol;
  if (context.client) {
    env.SSL_CLIENT_S_DN = escapeControls(context.client.subject);
    if (context.client.commonName !== undefined) {
      env.SSL_CLIENT_S_DN_CN = escapeControls(context.client.commonName);
    }
    env.SSL_CLIENT_FINGERPRINT = context.client.fingerprint;
  }
  return env;
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    while (partial.length > MAX_STDERR_LINE) {
      lines.push(partial.slice(0, MAX_STDERR_LINE));
      partial = partial.slice(MAX_STDERR_LINE);
    }
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
  });
}
