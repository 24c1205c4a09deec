import { describe, expect, test } from 'vitest';
import { checkReply, showBytes } from '../../src/client/expect.js';
import { MismatchError } from '../../src/errors.js';

describe('checkReply', () => {
  test('accepts a byte-for-byte equal reply', () => {
    expect(checkReply(1, Buffer.from([0, 0xff]), Buffer.from([0, 0xff]), 'expect')).toBeUndefined();
  });

  test('reads like a one-line diff naming the reply, both sides and where they part', () => {
    const error = checkReply(2, Buffer.from('hello'), Buffer.from('help'), 'expect');
    expect(error).toBeInstanceOf(MismatchError);
    expect(error?.exitCode).toBe(8);
    expect(error?.message).toBe(
      'reply 2 differs from --expect: expected "hello" (5 bytes) but got "help" (4 bytes) (first difference at byte 3)',
    );
  });

  test('says which message an echo check was about', () => {
    expect(checkReply(3, Buffer.from('a'), Buffer.from('b'), 'echo')?.message).toMatch(
      /^reply 3 is not an echo of message 3: /,
    );
  });
});

describe('showBytes', () => {
  test('escapes control characters, quotes and invalid UTF-8 so the message stays on one line', () => {
    expect(showBytes(Buffer.from('a\nb\r\t"\\\0\x01'))).toBe('"a\\nb\\r\\t\\"\\\\\\0\\x01" (9 bytes)');
    expect(showBytes(Buffer.from([0x61, 0xff, 0x0a]))).toBe('"a\\xff\\n" (3 bytes)');
    expect(showBytes(Buffer.from('héllo'))).toBe('"héllo" (6 bytes)');
    expect(showBytes(Buffer.alloc(0))).toBe('"" (0 bytes)');
    expect(showBytes(Buffer.from('x'))).toBe('"x" (1 byte)');
  });

  test('cuts long payloads after 60 characters', () => {
    const shown = showBytes(Buffer.from('y'.repeat(500)));
    expect(shown).toBe(`"${'y'.repeat(60)}…" (500 bytes)`);
  });
});
