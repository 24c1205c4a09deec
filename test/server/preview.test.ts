import { describe, expect, test } from 'vitest';
import { previewBytes } from '../../src/server/preview.js';

describe('previewBytes', () => {
  test.each([
    ['plain text', Buffer.from('hello'), '"hello"'],
    ['quotes and backslashes', Buffer.from('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"'],
    [
      'control characters and a terminal escape',
      Buffer.from('a\tb\r\n\x1b[2J\x00'),
      '"a\\tb\\r\\n\\x1b[2J\\x00"',
    ],
    ['bytes above ASCII, as hex', Buffer.from([0x7f, 0x80, 0xff]), '"\\x7f\\x80\\xff"'],
    ['an empty message', Buffer.alloc(0), '""'],
  ])('%s', (_name, message, expected) => {
    expect(previewBytes(message)).toBe(expected);
  });

  test('shows the first 64 bytes and says how many were left out', () => {
    expect(previewBytes(Buffer.alloc(100, 0x41))).toBe(`"${'A'.repeat(64)}"… (+36 bytes)`);
  });
});
