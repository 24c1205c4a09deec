import { describe, expect, test } from 'vitest';
import { UsageError } from '../src/errors.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../src/units.js';

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['3', 3000],
    [' 7S ', 7000],
  ])('%j is %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', 'soon', '-1s', '10 parsecs', '1e3', 's'])(
    'rejects %j with a usage error naming it',
    (text) => {
      expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
      expect(() => parseDuration(text, '--timeout')).toThrow(`invalid --timeout '${text}'`);
    },
  );
});

describe('parseSize', () => {
  test.each([
    ['512', 512],
    ['64KiB', 65_536],
    ['8MiB', 8 * 1024 * 1024],
    ['8mib', 8 * 1024 * 1024],
    ['1kB', 1000],
    ['2MB', 2_000_000],
    ['1GiB', 1024 ** 3],
    ['1.5KiB', 1536],
  ])('%j is %i bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  test.each(['', 'big', '-5', '1.3B', '10 furlongs', '0x10'])('rejects %j', (text) => {
    expect(() => parseSize(text, '--max-frame')).toThrow(/invalid --max-frame/);
  });
});

test('formats sizes and durations for logs', () => {
  expect(formatSize(512)).toBe('512 B');
  expect(formatSize(1536)).toBe('1.5 KiB');
  expect(formatSize(8 * 1024 * 1024)).toBe('8 MiB');
  expect(formatDuration(250)).toBe('250ms');
  expect(formatDuration(1500)).toBe('1.5s');
  expect(formatDuration(125_000)).toBe('2m5s');
});

test('a duration just under a whole minute rounds up into the minutes, never to 60 seconds', () => {
  expect(formatDuration(119_999)).toBe('2m0s');
  expect(formatDuration(59_999)).toBe('1m0s');
  expect(formatDuration(59_900)).toBe('59.9s');
  expect(formatDuration(3_600_000)).toBe('1h0m0s');
  expect(formatDuration(2 ** 31 - 1)).toBe('596h31m24s');
});

test('refuses a duration longer than a timer can wait, instead of timing out at once', () => {
  expect(parseDuration('596h')).toBe(596 * 3_600_000);
  expect(() => parseDuration('3000000s', '--timeout')).toThrow(
    "invalid --timeout '3000000s': the longest is 596h31m24s (about 24.8 days)",
  );
  expect(() => parseDuration(3_000_000, '--timeout')).toThrow(UsageError);
});
