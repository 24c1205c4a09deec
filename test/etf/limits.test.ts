import { deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  DEFAULT_ETF_LIMITS,
  EtfError,
  decodeTerm,
  encodeTerm,
  integer,
  type EtfLimits,
} from '../../src/etf/index.js';

/** Decodes, expecting a typed failure; returns it with the time it took. */
function refuse(bytes: Uint8Array, limits?: Partial<EtfLimits>): { error: EtfError; ms: number } {
  const started = performance.now();
  try {
    decodeTerm(bytes, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(EtfError);
    return { error: error as EtfError, ms: performance.now() - started };
  }
  throw new Error('decoding succeeded');
}

const header = (tag: number, ...fields: number[]) => Buffer.from([131, tag, ...fields]);

describe('nesting depth', () => {
  test('100,000 nested tuples stop at maxDepth with a limit error, not a stack overflow', () => {
    const depth = 100_000;
    const bytes = Buffer.concat([
      Buffer.from([131]),
      Buffer.alloc(depth * 2, Buffer.from([104, 1])),
      Buffer.from([106]),
    ]);
    const { error, ms } = refuse(bytes);
    expect(error.code).toBe('ERR_ETF_LIMIT');
    expect(error.message).toBe(`Erlang term nests deeper than 256 levels (maxDepth) at byte ${256 * 2 + 1}`);
    expect(ms).toBeLessThan(500);
  });

  test('nested lists and maps count as depth too', () => {
    const nestedLists = Buffer.concat([
      Buffer.from([131]),
      Buffer.alloc(5 * 11, Buffer.from([108, 0, 0, 0, 1])),
      Buffer.from([106]),
    ]);
    expect(refuse(nestedLists, { maxDepth: 10 }).error.code).toBe('ERR_ETF_LIMIT');
    const nestedMaps = Buffer.concat([
      Buffer.from([131]),
      Buffer.alloc(7 * 11, Buffer.from([116, 0, 0, 0, 1, 97, 1])),
    ]);
    expect(refuse(nestedMaps, { maxDepth: 10 }).error.code).toBe('ERR_ETF_LIMIT');
  });

  test('exactly maxDepth levels decode', () => {
    const bytes = Buffer.concat([
      Buffer.from([131]),
      Buffer.alloc(9 * 2, Buffer.from([104, 1])),
      Buffer.from([106]),
    ]);
    expect(() => decodeTerm(bytes, { maxDepth: 10 })).not.toThrow();
  });

  test('a long list of list cells chained through their tails is flat, not deep', () => {
    // [1 | [2 | [3 | ...]]] written cell by cell, as a non-OTP encoder may: merged without recursion.
    const cells = 100_000;
    const bytes = Buffer.concat([
      Buffer.from([131]),
      Buffer.alloc(cells * 7, Buffer.from([108, 0, 0, 0, 1, 97, 7])),
      Buffer.from([106]),
    ]);
    const term = decodeTerm(bytes);
    expect(term.type === 'list' && term.elements.length).toBe(cells);
  });
});

describe('element count', () => {
  test('a list with more elements than maxElements fails before decoding them', () => {
    const bytes = encodeTerm({ type: 'list', elements: Array.from({ length: 1001 }, () => integer(300)) });
    const { error } = refuse(bytes, { maxElements: 1000 });
    expect(error.code).toBe('ERR_ETF_LIMIT');
    expect(error.message).toBe('Erlang term has more than 1000 elements (maxElements) at byte 6');
  });

  test('each character of a STRING_EXT counts', () => {
    expect(
      refuse(encodeTerm({ type: 'list', elements: Array(2000).fill(integer(97)) }), { maxElements: 1000 })
        .error.code,
    ).toBe('ERR_ETF_LIMIT');
  });
});

describe('declared lengths are checked against the bytes that remain, before allocating', () => {
  test.each<[string, Buffer, RegExp]>([
    [
      'a LIST_EXT claiming 2^32 - 1 elements',
      header(108, 255, 255, 255, 255, 97, 1, 106),
      /LIST_EXT declares 4294967295 elements but only 3 bytes remain/,
    ],
    [
      'a LARGE_TUPLE_EXT claiming 2^32 - 1 elements',
      header(105, 255, 255, 255, 255, 106),
      /tuple declares 4294967295 elements/,
    ],
    [
      'a MAP_EXT claiming 2^31 pairs',
      header(116, 128, 0, 0, 0, 97, 1, 97, 2),
      /map declares 2147483648 elements but only 4 bytes remain/,
    ],
    [
      'a STRING_EXT claiming 65,535 bytes',
      header(107, 255, 255, 97),
      /STRING_EXT declares 65535 elements but only 1 bytes remain/,
    ],
    [
      'a BINARY_EXT claiming 4 GiB',
      header(109, 255, 255, 255, 255, 1, 2),
      /BINARY_EXT needs 4294967295 bytes but only 2 remain/,
    ],
    [
      'a BIT_BINARY_EXT claiming 4 GiB',
      header(77, 255, 255, 255, 255, 3, 1),
      /BIT_BINARY_EXT needs 4294967295 bytes/,
    ],
    [
      'an ATOM_UTF8_EXT claiming 1,000 bytes',
      header(118, 3, 232, 97),
      /an atom needs 1000 bytes but only 1 remain/,
    ],
    [
      'a fun claiming 2^32 - 1 free variables',
      Buffer.concat([
        header(112, 0, 0, 0, 0, 0),
        Buffer.alloc(16),
        Buffer.from([
          0, 0, 0, 0, 255, 255, 255, 255, 119, 1, 109, 97, 0, 97, 0, 88, 119, 1, 110, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0,
        ]),
      ]),
      /fun declares 4294967295 elements/,
    ],
  ])('%s fails at once', (_name, bytes, message) => {
    const { error, ms } = refuse(bytes);
    expect(error.code).toBe('ERR_ETF_INVALID');
    expect(error.message).toMatch(message);
    expect(ms).toBeLessThan(50);
  });

  test('a big integer above maxBigIntegerBytes is refused before its digits are read', () => {
    const { error } = refuse(header(111, 0, 1, 0, 1, 0, 1), { maxBigIntegerBytes: 65536 });
    expect(error.code).toBe('ERR_ETF_LIMIT');
    expect(error.message).toMatch(
      /65537-byte big integer, above the 65536-byte limit \(maxBigIntegerBytes\)/,
    );
  });
});

describe('compressed terms', () => {
  const compressedHeader = (declared: number) => {
    const head = Buffer.from([131, 80, 0, 0, 0, 0]);
    head.writeUInt32BE(declared, 2);
    return head;
  };

  test('a declared size above maxDecompressed is refused without inflating anything', () => {
    const { error, ms } = refuse(
      Buffer.concat([compressedHeader(0xffff_ffff), deflateSync(Buffer.from([106]))]),
    );
    expect(error.code).toBe('ERR_ETF_LIMIT');
    expect(error.message).toBe(
      `compressed Erlang term declares 4294967295 bytes, above the ${DEFAULT_ETF_LIMITS.maxDecompressed}-byte limit (maxDecompressed) at byte 2`,
    );
    expect(ms).toBeLessThan(50);
  });

  test('a zip bomb that lies about its size stops once the declared size is exceeded', () => {
    // 64 MiB of a STRING_EXT-looking body compresses to about 64 KiB; it declares 1 KiB.
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024, 97), { level: 9 });
    expect(bomb.length).toBeLessThan(100 * 1024);
    const { error, ms } = refuse(Buffer.concat([compressedHeader(1024), bomb]));
    expect(error.code).toBe('ERR_ETF_INVALID');
    expect(error.message).toBe(
      'invalid Erlang term: compressed term inflates to more than its declared 1024 bytes at byte 6',
    );
    expect(ms).toBeLessThan(200);
  });

  test('an honest term that inflates beyond maxDecompressed is refused by its declared size', () => {
    const big = encodeTerm({ type: 'binary', data: Buffer.alloc(2 * 1024 * 1024) }, { compressed: true });
    expect(refuse(big, { maxDecompressed: 1024 * 1024 }).error.code).toBe('ERR_ETF_LIMIT');
    expect(decodeTerm(big, { maxDecompressed: 4 * 1024 * 1024 }).type).toBe('binary');
  });

  test('a term that inflates to fewer bytes than declared is invalid', () => {
    const { error } = refuse(Buffer.concat([compressedHeader(10), deflateSync(Buffer.from([97, 1]))]));
    expect(error.message).toBe(
      'invalid Erlang term: compressed term inflates to 2 bytes, not the declared 10 at byte 6',
    );
  });
});

test('limits that are not positive whole numbers are a usage error', () => {
  expect(() => decodeTerm(Buffer.from([131, 106]), { maxDepth: 0 })).toThrow(UsageError);
  expect(() => decodeTerm(Buffer.from([131, 106]), { maxElements: 1.5 })).toThrow(
    'invalid Erlang term limit maxElements: 1.5 is not a positive whole number',
  );
});

test('a limit error names the limit it exceeded, so a caller can tell a work budget from a stack guard', () => {
  const deep = Buffer.concat([
    Buffer.from([131]),
    Buffer.alloc(600, Buffer.from([104, 1])),
    Buffer.from([106]),
  ]);
  const long = encodeTerm({ type: 'list', elements: Array.from({ length: 11 }, () => integer(300)) });
  const inflating = encodeTerm({ type: 'binary', data: Buffer.alloc(4096) }, { compressed: true });
  expect(refuse(deep).error.limit).toBe('maxDepth');
  expect(refuse(long, { maxElements: 10 }).error.limit).toBe('maxElements');
  expect(refuse(inflating, { maxDecompressed: 1000 }).error.limit).toBe('maxDecompressed');
  expect(refuse(header(111, 0, 1, 0, 1, 0, 1), { maxBigIntegerBytes: 65536 }).error.limit).toBe(
    'maxBigIntegerBytes',
  );
});
