import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';

/** Above this, `--workers` is almost certainly a typo: each worker is a whole Node process. */
export const MAX_WORKERS = 256;

/** `serve --workers N|auto`: a count of worker processes, or one per core. */
export function parseWorkers(value: string | number): number {
  const text = String(value).trim().toLowerCase();
  if (text === 'auto') return availableParallelism();
  const count = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(count >= 1 && count <= MAX_WORKERS)) {
    throw new UsageError(`invalid --workers '${value}': use a number from 1 to ${MAX_WORKERS}, or auto`);
  }
  return count;
}
