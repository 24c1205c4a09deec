import { expect, test } from 'vitest';
import {
  EtfError,
  atom,
  decodeTerm,
  encodeTerm,
  float,
  integer,
  list,
  map,
  termsEqual,
  tuple,
  type Term,
} from '../../src/etf/index.js';

function unencodable(term: Term): string {
  try {
    encodeTerm(term);
  } catch (error) {
    expect(error).toBeInstanceOf(EtfError);
    expect((error as EtfError).code).toBe('ERR_ETF_UNENCODABLE');
    return (error as EtfError).message;
  }
  throw new Error('encoding succeeded');
}

test.each<[string, Term, string]>([
  ['NaN', float(Number.NaN), 'cannot encode Erlang term: Erlang has no float NaN'],
  ['Infinity', float(Number.POSITIVE_INFINITY), 'cannot encode Erlang term: Erlang has no float Infinity'],
  [
    'a 256-character atom',
    atom('a'.repeat(256)),
    'cannot encode Erlang term: atom of 256 characters (at most 255)',
  ],
  [
    'an atom with a lone surrogate',
    atom('\ud800'),
    "cannot encode Erlang term: atom '\ud800' holds a lone UTF-16 surrogate",
  ],
  [
    'an unsafe integer given as a number',
    { type: 'integer', value: 2 ** 60 },
    `cannot encode Erlang term: ${2 ** 60} is not a safe integer (use a bigint)`,
  ],
  [
    'a map with a repeated key',
    map([
      [atom('a'), integer(1)],
      [atom('a'), integer(2)],
    ]),
    'cannot encode Erlang term: map has a repeated key',
  ],
  [
    'a bitstring with 0 bits',
    { type: 'bitstring', data: Buffer.from([1]), bits: 0 },
    'cannot encode Erlang term: bitstring of 1 bytes with 0 bits in its last byte',
  ],
])('refuses %s', (_name, term, message) => {
  expect(unencodable(term)).toBe(message);
});

test('a term nested too deeply for the stack is a typed error', () => {
  let term: Term = list([]);
  for (let i = 0; i < 200_000; i++) term = tuple(term);
  expect(unencodable(term)).toBe('cannot encode Erlang term: it nests too deeply');
});

test('integers given as bigints encode as the same bytes as numbers', () => {
  for (const value of [0, 255, 256, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31]) {
    expect(encodeTerm({ type: 'integer', value: BigInt(value) })).toEqual(encodeTerm(integer(value)));
  }
});

test('compression shrinks repetitive terms and decodes to the same term; levels outside 0-9 are refused', () => {
  const term = list(Array.from({ length: 1000 }, () => atom('repeat')));
  const plain = encodeTerm(term);
  for (const level of [true, 1, 9] as const) {
    const compressed = encodeTerm(term, { compressed: level });
    expect(compressed.subarray(0, 2)).toEqual(Buffer.from([131, 80]));
    expect(compressed.readUInt32BE(2)).toBe(plain.length - 1);
    expect(compressed.length).toBeLessThan(plain.length / 20);
    expect(termsEqual(decodeTerm(compressed), term)).toBe(true);
  }
  expect(() => encodeTerm(term, { compressed: 10 })).toThrow('invalid compression level 10: use 0 to 9');
});

test('unused bits of a bitstring are written as zero', () => {
  expect(encodeTerm({ type: 'bitstring', data: Buffer.from([0xff]), bits: 3 })).toEqual(
    Buffer.from([131, 77, 0, 0, 0, 1, 3, 0xe0]),
  );
});

test('a list whose tail is a list is written as one flat list', () => {
  const nested: Term = {
    type: 'list',
    elements: [integer(1)],
    tail: { type: 'list', elements: [integer(2)] },
  };
  expect(encodeTerm(nested)).toEqual(Buffer.from([131, 107, 0, 2, 1, 2]));
});
