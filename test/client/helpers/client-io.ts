import { createMemoryIo, type MemoryIo } from '../../helpers/memory-io.js';

/** An in-memory Io that also keeps stdout as bytes, for payloads that are not text. */
export interface ClientIo extends MemoryIo {
  stdoutBytes(): Buffer;
  /** Resolves once stdout holds at least `bytes` bytes (or rejects after `timeoutMs`). */
  waitForOutput(predicate: (stdout: Buffer) => boolean, timeoutMs?: number): Promise<void>;
}

export function createClientIo(options: { tty?: boolean } = {}): ClientIo {
  const io = createMemoryIo({ tty: options.tty });
  const chunks: Buffer[] = [];
  const listeners = new Set<() => void>();
  io.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const listener of listeners) listener();
  });
  const stdoutBytes = () => Buffer.concat(chunks);
  return {
    ...io,
    stdoutBytes,
    waitForOutput: (predicate, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(stdoutBytes())) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`stdout never matched; it holds ${JSON.stringify(stdoutBytes().toString())}`));
        }, timeoutMs);
        const check = () => {
          if (!predicate(stdoutBytes())) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      }),
  };
}
