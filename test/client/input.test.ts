import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { readMessages, type InputOptions } from '../../src/client/input.js';
import { ProtocolError } from '../../src/errors.js';
import { frame } from './helpers/framed-server.js';

async function read(chunks: Array<string | Buffer>, options: Partial<InputOptions>): Promise<string[]> {
  const stream = Readable.from(chunks.map((chunk) => Buffer.from(chunk)));
  const messages: string[] = [];
  for await (const message of readMessages(stream, {
    mode: 'lines',
    packet: 4,
    maxFrame: 1024,
    label: 'stdin',
    ...options,
  })) {
    messages.push(message.toString('latin1'));
  }
  return messages;
}

describe('readMessages', () => {
  test('lines: one message per line without the newline; empty lines are empty messages', async () => {
    expect(await read(['a\n\nb\n'], {})).toEqual(['a', '', 'b']);
  });

  test('lines: keeps a trailing \\r and sends a last line that has no newline', async () => {
    expect(await read(['one\r\ntwo'], {})).toEqual(['one\r', 'two']);
  });

  test('lines: joins a line split across chunks, whatever the split', async () => {
    expect(await read(['he', 'll', 'o\nwor', 'ld\n', '\n'], {})).toEqual(['hello', 'world', '']);
  });

  test('lines: empty input is no message at all', async () => {
    expect(await read([], {})).toEqual([]);
  });

  test('null: NUL separates messages, so newlines pass through', async () => {
    expect(await read(['a\nb\0c\0', '\0d'], { mode: 'null' })).toEqual(['a\nb', 'c', '', 'd']);
  });

  test('whole: everything is one message, and empty input one empty message', async () => {
    expect(await read(['a\n', 'b\0c\n'], { mode: 'whole' })).toEqual(['a\nb\0c\n']);
    expect(await read([], { mode: 'whole' })).toEqual(['']);
  });

  test.each([1, 2, 4] as const)(
    'raw: decodes {packet, %s} frames however they are chunked',
    async (packet) => {
      const bytes = Buffer.concat([frame(packet, 'x'), frame(packet, ''), frame(packet, 'yz')]);
      const oneByteChunks = [...bytes].map((byte) => Buffer.from([byte]));
      expect(await read(oneByteChunks, { mode: 'raw', packet, maxFrame: 255 })).toEqual(['x', '', 'yz']);
    },
  );

  test('raw: input that ends inside a frame fails after the frames before it, naming stdin', async () => {
    const messages: string[] = [];
    const stream = Readable.from([Buffer.concat([frame(2, 'ok'), Buffer.from([0, 5, 0x61])])]);
    const reading = (async () => {
      for await (const message of readMessages(stream, {
        mode: 'raw',
        packet: 2,
        maxFrame: 100,
        label: 'stdin',
      })) {
        messages.push(message.toString());
      }
    })();
    await expect(reading).rejects.toThrow('stdin ended inside a frame: 4 of 5 bytes missing');
    expect(messages).toEqual(['ok']);
  });

  test('raw: a frame above the maximum is refused from its header', async () => {
    await expect(read([frame(4, 'x'.repeat(50))], { mode: 'raw', maxFrame: 10 })).rejects.toThrow(
      'stdin holds a 50-byte frame, above the maximum of 10 bytes',
    );
  });

  test('lines: a line above the maximum frame fails as soon as it is too long, with its number', async () => {
    const error = await read(['ok\n', 'x'.repeat(20)], { maxFrame: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toBe('message 2 of stdin is larger than the maximum frame of 10 bytes');
  });

  test('lines and null with onOversized: a message above the maximum is reported and skipped, reading goes on', async () => {
    const refused: string[] = [];
    const onOversized = (error: ProtocolError) => refused.push(error.message);
    // Too long within one chunk, too long across chunks (dropped as it arrives), and the lines around them.
    const chunks = ['ok\n', `${'x'.repeat(20)}\nnext\n`, 'y'.repeat(8), 'y'.repeat(8), 'yy\nlast'];
    expect(await read(chunks, { maxFrame: 10, onOversized })).toEqual(['ok', 'next', 'last']);
    expect(refused).toEqual([
      'message 2 of stdin is larger than the maximum frame of 10 bytes',
      'message 4 of stdin is larger than the maximum frame of 10 bytes',
    ]);
    refused.length = 0;
    expect(await read([`a\0${'z'.repeat(11)}\0b`], { mode: 'null', maxFrame: 10, onOversized })).toEqual([
      'a',
      'b',
    ]);
    expect(refused).toEqual(['message 2 of stdin is larger than the maximum frame of 10 bytes']);
  });

  test('whole: input above the maximum frame is refused', async () => {
    await expect(read(['x'.repeat(11)], { mode: 'whole', maxFrame: 10, label: 'data.bin' })).rejects.toThrow(
      'data.bin is larger than the maximum frame of 10 bytes',
    );
  });

  test('reads lazily: a consumer that stops early leaves the rest of the input unread', async () => {
    let pulled = 0;
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          pulled += 1;
          yield Buffer.from(`line ${i}\n`);
        }
      })(),
    );
    for await (const message of readMessages(stream, {
      mode: 'lines',
      packet: 4,
      maxFrame: 100,
      label: 'stdin',
    })) {
      if (message.toString() === 'line 2') break;
    }
    expect(pulled).toBeLessThan(100);
  });
});
