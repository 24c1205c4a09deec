import { describe, expect, test } from 'vitest';
import { toReplayOptions, type ReplayArgs } from '../../src/cli/commands/replay.js';
import type { ReplayOptions } from '../../src/replay/replay.js';
import { expectUsageError, parseThroughMain } from '../helpers/parse-command.js';

// `tlsecho replay` flags → options, through the real main: the parser, its choices and its usage errors.

const parse = (args: string[]) =>
  parseThroughMain<ReplayArgs, ReplayOptions>(
    'replay',
    ['session.jsonl', 'localhost:7000', ...args],
    toReplayOptions,
  );

describe('replay --format', () => {
  test.each([
    [[], 'text'],
    [['--format', 'text'], 'text'],
    [['--format', 'etf'], 'etf'],
  ])('%j compares replies as %s', async (args, format) => {
    expect((await parse(args)).format).toBe(format);
  });

  test('an unknown format is a usage error naming the choices', async () => {
    await expectUsageError(parse(['--format', 'json']), "invalid --format 'json': expected text, etf");
  });
});
