import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChunkQueue } from '../../src/codec/chunk-queue.js';
import { appendCapped } from '../../src/codec/coalesce.js';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { countBytesCopied } from '../helpers/copy-counter.js';

describe('appendCapped', () => {
  test('keeps pieces as they are up to the cap, then merges the newest half, bytes and order kept', () => {
    const [a, b, c, d] = ['a', 'bb', 'c', 'dd'].map((text) => Buffer.from(text));
    const pieces: Buffer[] = [];
    for (const piece of [a!, b!, c!, d!]) appendCapped(pieces, piece, 4);
    expect(pieces).toHaveLength(4);
    expect(pieces.every((piece, i) => piece === [a, b, c, d][i])).toBe(true);
    appendCapped(pieces, Buffer.from('e'), 4);
    expect(pieces.map(String)).toEqual(['a', 'bb', 'cdde']);
    expect(pieces[0]).toBe(a);
    expect(pieces[1]).toBe(b);
    appendCapped(pieces, Buffer.from('f'), 4);
    appendCapped(pieces, Buffer.from('g'), 4);
    expect(pieces.map(String)).toEqual(['a', 'bb', 'cddefg']);
  });

  test('never changes bytes of a merged piece handed out before', () => {
    const pieces: Buffer[] = [Buffer.from('x')];
    appendCapped(pieces, Buffer.from('ab'), 1);
    const earlier = pieces[0]!;
    for (const piece of ['cd', 'ef', 'g'.repeat(600)]) appendCapped(pieces, Buffer.from(piece), 1);
    expect(String(earlier)).toBe('xab');
    expect(String(pieces[0])).toBe('xabcdef' + 'g'.repeat(600));
  });

  test('keeps the bytes, their order, the cap and the older half for any pieces and cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        (arrays, cap) => {
          const pieces: Buffer[] = [];
          for (const array of arrays) {
            const older = pieces.slice(0, cap >> 1);
            appendCapped(pieces, Buffer.from(array), cap);
            expect(pieces.length).toBeLessThanOrEqual(cap);
            if (cap > 1) older.forEach((piece, i) => expect(pieces[i]).toBe(piece));
          }
          expect(Buffer.concat(pieces)).toEqual(Buffer.concat(arrays.map((a) => Buffer.from(a))));
        },
      ),
    );
  });
});

describe('ChunkQueue', () => {
  test('keeps at most MAX_CHUNKS chunks for a one-byte trickle, bytes intact, partly consumed head kept', () => {
    const queue = new ChunkQueue();
    const total = ChunkQueue.MAX_CHUNKS * 3;
    const sent: number[] = [];
    queue.push(Buffer.from([1, 2, 3]));
    queue.skip(1); // a head consumed in part must survive the merging of later chunks
    sent.push(2, 3);
    for (let i = 0; i < total; i++) {
      queue.push(Buffer.from([i & 0xff]));
      sent.push(i & 0xff);
    }
    expect(queue.length).toBe(sent.length);
    expect(queue.take(queue.length)).toEqual(Buffer.from(sent));
  });
});

test('a 1 MiB frame trickled one byte per push is decoded whole, copying its bytes only a few times', () => {
  const size = 1024 * 1024;
  const stream = Buffer.alloc(4 + size);
  stream.writeUInt32BE(size, 0);
  for (let i = 4; i < stream.length; i++) stream[i] = i & 0xff;
  const decoder = new FrameDecoder(4, 16 * 1024 * 1024);
  const frames: Buffer[] = [];
  const onFrame = (frame: Buffer): void => void frames.push(frame);

  // Merging the newest chunks over and over, past 1,024 of them, copied about 137 GB here.
  const copied = countBytesCopied(4 * stream.length, () => {
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1), onFrame);
  });

  expect(copied).toBeLessThanOrEqual(4 * stream.length);
  expect(frames).toHaveLength(1);
  expect(frames[0]!.equals(stream.subarray(4))).toBe(true);
});
