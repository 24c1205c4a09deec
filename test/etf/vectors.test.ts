import { describe, expect, test } from 'vitest';
import {
  atom,
  binary,
  charlist,
  decodeTerm,
  encodeTerm,
  float,
  formatTerm,
  integer,
  list,
  map,
  termsEqual,
  tuple,
  type Term,
} from '../../src/etf/index.js';

// Bytes produced by Erlang/OTP 25.2 with term_to_binary(T, [{minor_version, 2}]) ("v2", OTP 26+'s default)
// and term_to_binary(T) ("v1", OTP 25's default, which writes Latin-1 atoms as ATOM_EXT).
const lookup = [atom('key'), atom('value')] as const;
const vectors: { name: string; term: Term; v2: string; v1?: string }[] = [
  {
    name: '{hello,<<"world">>,42,[1.5,atom,"str"],#{key => value}}',
    term: tuple(
      atom('hello'),
      binary('world'),
      integer(42),
      list([float(1.5), atom('atom'), charlist('str')]),
      map([lookup]),
    ),
    v2: '836805770568656C6C6F6D00000005776F726C64612A6C00000003463FF8000000000000770461746F6D6B00037374726A740000000177036B6579770576616C7565',
    v1: '83680564000568656C6C6F6D00000005776F726C64612A6C00000003463FF800000000000064000461746F6D6B00037374726A74000000016400036B657964000576616C7565',
  },
  { name: '-1 (INTEGER_EXT)', term: integer(-1), v2: '8362FFFFFFFF' },
  { name: '255 (SMALL_INTEGER_EXT)', term: integer(255), v2: '8361FF' },
  { name: '256 (INTEGER_EXT)', term: integer(256), v2: '836200000100' },
  { name: '2147483647', term: integer(2147483647), v2: '83627FFFFFFF' },
  { name: '-2147483648', term: integer(-2147483648), v2: '836280000000' },
  { name: '2147483648 (SMALL_BIG_EXT)', term: integer(2147483648), v2: '836E040000000080' },
  { name: '2^64', term: integer(2n ** 64n), v2: '836E0900000000000000000001' },
  { name: '-2^64', term: integer(-(2n ** 64n)), v2: '836E0901000000000000000001' },
  { name: '2^2048 (LARGE_BIG_EXT)', term: integer(2n ** 2048n), v2: `836F0000010100${'00'.repeat(256)}01` },
  { name: "'héllo'", term: atom('héllo'), v2: '83770668C3A96C6C6F', v1: '8364000568E96C6C6F' },
  { name: "'Ϩ' (UTF-8 in both versions)", term: atom('Ϩ'), v2: '837702CFA8', v1: '837702CFA8' },
  {
    name: '[a|b]',
    term: list([atom('a')], atom('b')),
    v2: '836C00000001770161770162',
    v1: '836C000000016400016164000162',
  },
  {
    name: '<<1:3>>',
    term: { type: 'bitstring', data: Buffer.from([0x20]), bits: 3 },
    v2: '834D000000010320',
  },
  { name: '-0.0', term: float(-0), v2: '83468000000000000000' },
  { name: '0.1', term: float(0.1), v2: '83463FB999999999999A' },
  { name: '"abc" (STRING_EXT)', term: charlist('abc'), v2: '836B0003616263' },
  { name: '[1000] (LIST_EXT)', term: charlist('\u03e8'), v2: '836C0000000162000003E86A' },
  { name: '{}', term: tuple(), v2: '836800' },
  { name: '#{}', term: map([]), v2: '837400000000' },
  { name: '<<>>', term: binary(''), v2: '836D00000000' },
  { name: '[]', term: list([]), v2: '836A' },
  {
    name: 'map keys in term order: integers before floats',
    term: map([
      [float(1.0), atom('a')],
      [integer(2), atom('b')],
      [float(0.5), atom('c')],
    ]),
    v2: '8374000000036102770162463FE0000000000000770163463FF0000000000000770161',
  },
  {
    name: '{<0.85.0>, fun lists:map/2}',
    term: tuple(
      { type: 'pid', node: 'nonode@nohost', id: 85, serial: 0, creation: 0 },
      { type: 'export', module: 'lists', function: 'map', arity: 2 },
    ),
    v2: '83680258770D6E6F6E6F6465406E6F686F73740000005500000000000000007177056C6973747377036D61706102',
  },
  {
    name: '{#Ref<0.2168793520.3121086465.71720>, #Port<0.7>}',
    term: tuple(
      { type: 'reference', node: 'nonode@nohost', creation: 0, ids: [71720, 3121086465, 2168793520] },
      { type: 'port', node: 'nonode@nohost', id: 7n, creation: 0 },
    ),
    v2: '8368025A0003770D6E6F6E6F6465406E6F686F73740000000000011828BA080001814529B059770D6E6F6E6F6465406E6F686F73740000000700000000',
    v1: '8368025A000364000D6E6F6E6F6465406E6F686F73740000000000011828BA080001814529B05964000D6E6F6E6F6465406E6F686F73740000000700000000',
  },
];

describe('literal term_to_binary vectors', () => {
  test.each(vectors)('$name encodes to OTP bytes and decodes back', ({ term, v2, v1 }) => {
    expect(encodeTerm(term).toString('hex').toUpperCase()).toBe(v2);
    expect(termsEqual(decodeTerm(Buffer.from(v2, 'hex')), term)).toBe(true);
    if (v1 !== undefined) {
      expect(encodeTerm(term, { minorVersion: 1 }).toString('hex').toUpperCase()).toBe(v1);
      expect(termsEqual(decodeTerm(Buffer.from(v1, 'hex')), term)).toBe(true);
    }
  });

  test('a 256-element tuple is a LARGE_TUPLE_EXT', () => {
    const term = tuple(...Array.from({ length: 256 }, (_, i) => integer(i + 1)));
    const elements = Array.from({ length: 255 }, (_, i) => `61${(i + 1).toString(16).padStart(2, '0')}`).join(
      '',
    );
    expect(encodeTerm(term).toString('hex')).toBe(`836900000100${elements}6200000100`);
  });

  test('a closure from erl_eval decodes, prints as Erlang does and re-encodes to the same bytes', () => {
    // term_to_binary(fun() -> ok end) from `erl -eval`, OTP 25.
    const bytes = Buffer.from(
      '83700000008F00065361AA461590D1BDF1EB62D1A6EB080000002B0000000164000865726C5F6576616C612B6200329B0D5864000D6E6F6E6F6465406E6F686F7374000000090000000000000000680661016A6400046E6F6E656400046E6F6E6574000000006C000000016805640006636C6175736561016A6A6C00000001680364000461746F6D61016400026F6B6A6A',
      'hex',
    );
    const fun = decodeTerm(bytes);
    expect(formatTerm(fun)).toBe('#Fun<erl_eval.43.3316493>');
    expect(encodeTerm(fun, { minorVersion: 1 })).toEqual(bytes);
  });

  test('a compressed term from OTP (lists:duplicate(20, hello)) inflates and decodes', () => {
    const bytes = Buffer.from('8350000000A6789CCB61606010496160CD48CDC9C91FAC741600088832AF', 'hex');
    expect(formatTerm(decodeTerm(bytes))).toBe(`[${Array(20).fill('hello').join(',')}]`);
  });
});
