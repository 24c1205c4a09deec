import type { Writable } from 'node:stream';

/**
 * Resolves once `stream` can take more writes: at once if its buffer has room, else on `drain`, or on
 * `close` (a closed stream takes nothing more, and its writer learns that from its own next write).
 * Never rejects, so a caller may leave it unawaited.
 */
export function whenDrained(stream: Writable): Promise<void> {
  if (stream.destroyed || !stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
