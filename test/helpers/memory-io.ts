import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Io } from '../../src/io.js';

/** An Io over in-memory streams, for running commands in-process. */
export interface MemoryIo extends Io {
  stdinStream: PassThrough;
  output(): string;
  errors(): string;
  /** Emit 'SIGINT' or 'SIGTERM' to play a signal, 'exit' to play the process ending. */
  signals: EventEmitter;
}

export function createMemoryIo(
  options: { env?: Record<string, string>; cwd?: string; tty?: boolean } = {},
): MemoryIo {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const tty = options.tty ?? false;
  Object.assign(stdin, { isTTY: tty });
  // ora and readline draw with these on a terminal; a tty-like memory stream needs them to exist.
  const terminalMethods = {
    columns: 100,
    rows: 30,
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    getColorDepth: () => 1,
    hasColors: () => false,
  };
  Object.assign(stderr, { isTTY: tty }, tty ? terminalMethods : {});
  Object.assign(stdout, { isTTY: tty });
  const signals = new EventEmitter();
  return {
    stdin,
    stdout,
    stderr,
    stdinStream: stdin,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    signals,
    onSignal(signal, handler) {
      signals.on(signal, handler);
      return () => signals.off(signal, handler);
    },
    // `signals.emit('exit')` plays the process ending.
    onExit(handler) {
      signals.on('exit', handler);
      return () => signals.off('exit', handler);
    },
    output: () => Buffer.concat(out).toString('utf8'),
    errors: () => Buffer.concat(err).toString('utf8'),
  };
}
