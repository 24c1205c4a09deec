import { describe, expect, test } from 'vitest';
import { createFrameFormatter, frameToJson, type OutputMode } from '../../src/client/output.js';

const BINARY = Buffer.from([0x00, 0xff, 0x0a]);

describe('createFrameFormatter', () => {
  test.each<[OutputMode, Buffer, string]>([
    ['text', Buffer.from('hi'), 'hi\n'],
    ['text', Buffer.alloc(0), '\n'],
    ['hex', BINARY, '00ff0a\n'],
    ['base64', BINARY, 'AP8K\n'],
    ['json', Buffer.from('héllo'), '{"length":6,"text":"héllo"}\n'],
    ['json', Buffer.from('a\0b'), '{"length":3,"text":"a\\u0000b"}\n'],
    ['json', BINARY, '{"length":3,"base64":"AP8K"}\n'],
    ['json', Buffer.alloc(0), '{"length":0,"text":""}\n'],
  ])('%s prints %j as %j', (mode, frame, printed) => {
    expect(createFrameFormatter(mode, 4)(frame).toString('utf8')).toBe(printed);
  });

  test('text keeps the payload bytes exactly, invalid UTF-8 included', () => {
    expect(createFrameFormatter('text', 4)(BINARY)).toEqual(Buffer.from([0x00, 0xff, 0x0a, 0x0a]));
  });

  test.each([
    [1, [0x02, 0x61, 0x62]],
    [2, [0x00, 0x02, 0x61, 0x62]],
    [4, [0x00, 0x00, 0x00, 0x02, 0x61, 0x62]],
    ['line', [0x61, 0x62, 0x0a]],
  ] as const)('raw re-frames with {packet, %s}', (packet, bytes) => {
    expect([...createFrameFormatter('raw', packet)(Buffer.from('ab'))]).toEqual(bytes);
  });
});

describe('frameToJson', () => {
  test('uses text for valid UTF-8 and base64 otherwise', () => {
    expect(frameToJson(Buffer.from('ok'))).toEqual({ length: 2, text: 'ok' });
    expect(frameToJson(Buffer.from([0xc3]))).toEqual({ length: 1, base64: 'ww==' });
  });
});
