import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { MAX_WORKERS, parseWorkers } from '../../src/cli/workers-option.js';
import { UsageError } from '../../src/errors.js';

describe('serve --workers', () => {
  test.each([
    ['1', 1],
    ['4', 4],
    [' 2 ', 2],
    [String(MAX_WORKERS), MAX_WORKERS],
    ['auto', availableParallelism()],
    ['AUTO', availableParallelism()],
  ])('--workers %s means %d', (text, count) => {
    expect(parseWorkers(text)).toBe(count);
  });

  test.each(['0', '-1', '1.5', 'two', '', String(MAX_WORKERS + 1)])(
    '--workers %j is a usage error',
    (text) => {
      expect(() => parseWorkers(text)).toThrow(UsageError);
      expect(() => parseWorkers(text)).toThrow(
        /^invalid --workers '.*': use a number from 1 to 256, or auto$/,
      );
    },
  );
});
