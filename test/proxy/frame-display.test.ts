import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { escapePayload, formatFrame } from '../../src/proxy/frame-display.js';

// The proxy prints every frame it relays on the user's terminal: a frame must show as exactly one line, and
// nothing a peer sends may drive the terminal (escape sequences, C1 CSI, bidi overrides).

// eslint-disable-next-line no-control-regex -- the characters that must never get through
const NEVER_SHOWN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe('escapePayload', () => {
  test.each([
    ['plain text', Buffer.from('hello'), 'hello'],
    ['newline, tab, return, backslash', Buffer.from('a\nb\tc\rd\\e'), 'a\\nb\\tc\\rd\\\\e'],
    ['an ANSI escape sequence', Buffer.from('\u001b[2Jgone'), '\\x1b[2Jgone'],
    ['a C1 CSI and a right-to-left override in UTF-8', Buffer.from('a\u009b2Jb\u202ec'), 'a\\x9b2Jb\\u202ec'],
    ['UTF-8 text beyond ASCII', Buffer.from('grüße, 日本'), 'grüße, 日本'],
    ['bytes that are not UTF-8', Buffer.from([0x41, 0xff, 0x00, 0x5c]), 'A\\xff\\x00\\\\'],
  ])('%s', (_name, data, shown) => {
    expect(escapePayload(data)).toBe(shown);
  });

  test('any payload shows as one line with no control, separator or override character', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })),
        (input) => {
          const data = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input);
          const line = formatFrame('text', 1, 'c2s', 0, data);
          expect(line.endsWith('\n')).toBe(true);
          expect(line.slice(0, -1)).not.toMatch(NEVER_SHOWN);
        },
      ),
    );
  });
});

describe('formatFrame', () => {
  test('text, hex and json show connection, direction and length', () => {
    const data = Buffer.from('hi\n');
    expect(formatFrame('text', 3, 's2c', 1.5, data)).toBe('[#3] server→client 3 bytes: hi\\n\n');
    expect(formatFrame('hex', 3, 'c2s', 1.5, Buffer.from([1]))).toBe('[#3] client→server 1 byte: 01\n');
    expect(JSON.parse(formatFrame('json', 3, 'c2s', 1.5, data))).toEqual({
      conn: 3,
      dir: 'c2s',
      t: 1.5,
      length: 3,
      text: 'hi\n',
    });
  });
});
