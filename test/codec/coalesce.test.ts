import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChunkQueue } from '../../src/codec/chunk-queue.js';
import { mergeNewest } from '../../src/codec/coalesce.js';

describe('mergeNewest', () => {
  test('merges the newest run of no-larger pieces, keeps the bytes and their order', () => {
    const pieces = [Buffer.from('aaaa'), Buffer.from('bb'), Buffer.from('c'), Buffer.from('d')];
    mergeNewest(pieces);
    // 'c' (1) <= 'd' (1), then 'bb' (2) <= 2, then 'aaaa' (4) <= 4: all four form one run.
    expect(pieces.map(String)).toEqual(['aaaabbcd']);

    const uneven = [Buffer.from('a'), Buffer.from('bbbbbbbb'), Buffer.from('c'), Buffer.from('d')];
    mergeNewest(uneven);
    expect(uneven.map(String)).toEqual(['a', 'bbbbbbbb', 'cd']);
  });

  test('always merges at least the two newest pieces', () => {
    const pieces = [Buffer.from('a'), Buffer.from('bb'), Buffer.from('cccc'), Buffer.from('x')];
    mergeNewest(pieces);
    expect(pieces.map(String)).toEqual(['a', 'bb', 'ccccx']);
  });

  test('never touches the first `keep` pieces', () => {
    const head = Buffer.from('h');
    const pieces = [head, Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    mergeNewest(pieces, 1);
    expect(pieces[0]).toBe(head);
    expect(pieces.map(String)).toEqual(['h', 'abc']);
  });

  test('preserves the bytes for any pieces', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 3, maxLength: 30 }),
        fc.integer({ min: 0, max: 1 }),
        (arrays, keep) => {
          const pieces = arrays.map((a) => Buffer.from(a));
          const before = Buffer.concat(pieces);
          const kept = pieces.slice(0, keep);
          const count = pieces.length;
          mergeNewest(pieces, keep);
          expect(Buffer.concat(pieces)).toEqual(before);
          expect(pieces.length).toBeLessThan(count);
          for (let i = 0; i < keep; i++) expect(pieces[i]).toBe(kept[i]);
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
