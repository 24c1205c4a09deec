import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  EtfError,
  atom,
  binary,
  charlist,
  float,
  formatTerm,
  integer,
  list,
  map,
  parseTerm,
  termsEqual,
  tuple,
  type Term,
} from '../../src/etf/index.js';
import { arbitraryTerm } from './helpers/arbitraries.js';

describe('parseTerm reads Erlang term syntax', () => {
  test.each<[string, Term]>([
    [
      '{hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}}',
      tuple(
        atom('hello'),
        binary('world'),
        integer(42),
        list([float(1.5), atom('atom'), charlist('str')]),
        map([[atom('key'), atom('value')]]),
      ),
    ],
    ["'Hello world'", atom('Hello world')],
    ['<<1,2,3>>', binary(Buffer.from([1, 2, 3]))],
    ['<<"utf8 text é"/utf8>>', binary('utf8 text é')],
    ['<<"é">>', binary(Buffer.from([0xe9]))],
    ['<<$a, "bc", -1, 256, 1000/utf8>>', binary(Buffer.from([97, 98, 99, 255, 0, 0xcf, 0xa8]))],
    ['<<1:4, 2:4>>', binary(Buffer.from([0x12]))],
    ['<<5:3>>', { type: 'bitstring', data: Buffer.from([0xa0]), bits: 3 }],
    ['<<"ab":16>>', binary(Buffer.from([0, 97, 0, 98]))],
    ['<<>>', binary('')],
    ['-42', integer(-42)],
    ['- 7', integer(-7)],
    ['123456789012345678901234567890', integer(123456789012345678901234567890n)],
    ['1_000_000', integer(1_000_000)],
    ['16#ff', integer(255)],
    ['-2#1010', integer(-10)],
    ['36#Zz', integer(35 * 36 + 35)],
    ['1.5e10', float(1.5e10)],
    ['-2.5E-3', float(-2.5e-3)],
    ['1.0e+2', float(100)],
    ['[a | b]', list([atom('a')], atom('b'))],
    ['[1, 2 | [3]]', list([integer(1), integer(2), integer(3)])],
    ['"a\\n\\t\\\\\\"\\x41\\x{3E8}\\101\\^a\\s\\d\\e"', charlist('a\n\t\\"AϨA\u0001 \u007f\u001b')],
    ['"ab" "cd"', charlist('abcd')],
    ['$a', integer(97)],
    ['$\\n', integer(10)],
    ['$ ', integer(32)],
    ['-$a', integer(-97)],
    ['[true, false, nil, undefined]', list([atom('true'), atom('false'), atom('nil'), atom('undefined')])],
    ['{}', tuple()],
    ['[]', list([])],
    ['""', list([])],
    ['#{}', map([])],
    ['#{a => 1, a => 2}', map([[atom('a'), integer(2)]])],
    ['é@x_Y9', atom('é@x_Y9')],
    ['{a,  % a comment\n b}.', tuple(atom('a'), atom('b'))],
    ['  ok . ', atom('ok')],
  ])('%s', (text, expected) => {
    expect(formatTerm(parseTerm(text))).toBe(formatTerm(expected));
    expect(termsEqual(parseTerm(text), expected)).toBe(true);
  });
});

describe('parseTerm explains a mistake in one line with its position', () => {
  test.each<[string, string]>([
    ['{a,', 'invalid Erlang term at column 4: expected a term, found the end of the text'],
    ['{a b}', "invalid Erlang term at column 4: expected ',' or '}' in a tuple, found 'b'"],
    ['[1|2|3]', "invalid Erlang term at column 5: expected ']' after the tail of a list, found '|'"],
    ['#{a => }', "invalid Erlang term at column 8: expected a term, found '}'"],
    ['#{a, b}', "invalid Erlang term at column 4: expected '=>' after a map key, found ','"],
    [
      'Foo',
      "invalid Erlang term at column 1: 'Foo' is a variable, not a term (quote it to make an atom: 'Foo')",
    ],
    [
      '1e10',
      "invalid Erlang term at column 2: unexpected 'e10' after a number (write floats with a fraction, as 1.0e10)",
    ],
    ['"abc', 'invalid Erlang term at column 1: unterminated string'],
    ["'abc", 'invalid Erlang term at column 1: unterminated quoted atom'],
    ['<0.1.0>', 'invalid Erlang term at column 1: pids cannot be written as terms'],
    [
      '#PID<a.1.0>',
      'invalid Erlang term at column 1: pids, ports, references and funs cannot be written as terms',
    ],
    ['fun lists:map/2', 'invalid Erlang term at column 1: funs cannot be written as terms'],
    [
      '<<"Ϩ">>',
      'invalid Erlang term at column 3: character 1000 does not fit in a byte: add /utf8 to the string',
    ],
    ['<<1.5>>', 'invalid Erlang term at column 3: binary segments hold integers and strings, not floats'],
    [
      '<<1/float>>',
      "invalid Erlang term at column 5: unsupported binary segment type 'float' (use utf8, integer, signed or unsigned)",
    ],
    ['<<1:99999999999>>', 'invalid Erlang term at column 5: segment size 99999999999 is above 16777216 bits'],
    ['ok ok', "invalid Erlang term at column 4: unexpected 'ok' after the term"],
    ['"\\x{110000}"', 'invalid Erlang term at column 2: \\x{110000} is not a Unicode code point'],
    ['1.0e999', 'invalid Erlang term at column 1: float 1.0e999 is out of range'],
    ['', 'invalid Erlang term at column 1: expected a term, found nothing'],
    [
      '{a,\n  B}',
      "invalid Erlang term at line 2, column 3: 'B' is a variable, not a term (quote it to make an atom: 'B')",
    ],
    [`'${'a'.repeat(256)}'`, 'invalid Erlang term at column 1: atom of 256 characters (at most 255)'],
  ])('%s', (text, message) => {
    expect(() => parseTerm(text)).toThrow(UsageError);
    expect(() => parseTerm(text)).toThrow(message);
  });

  test('deep nesting is refused at maxDepth instead of overflowing the stack', () => {
    expect(() => parseTerm('['.repeat(200_000))).toThrow(
      'invalid Erlang term at column 257: term nests deeper than 256 levels',
    );
    expect(() => parseTerm(`${'{'.repeat(5)}${'}'.repeat(5)}`, { maxDepth: 4 })).toThrow(
      /nests deeper than 4 levels/,
    );
  });
});

describe('formatTerm writes Erlang syntax', () => {
  const cases: [Term, string][] = [
    [atom('ok'), 'ok'],
    [atom('Hello world'), "'Hello world'"],
    [atom('end'), "'end'"],
    [atom(''), "''"],
    [atom("it's\n"), "'it\\'s\\n'"],
    [atom('\u0001\u0085'), "'\\001\\205'"],
    [atom('aé'), 'aé'],
    [atom('Ϩ'), "'Ϩ'"],
    [binary('text'), '<<"text">>'],
    [binary('héllo'), '<<"héllo"/utf8>>'],
    [binary(Buffer.from([0xe9])), '<<233>>'],
    [binary(Buffer.from([0, 1])), '<<0,1>>'],
    [binary('a"b\\c\n'), '<<"a\\"b\\\\c\\n">>'],
    [charlist('a\u001b\u0007'), '[97,27,7]'],
    [charlist('tab\there'), '"tab\\there"'],
    [charlist('Ϩ😀'), '"Ϩ😀"'],
    [list([integer(1), integer(2)], atom('x')), '[1,2|x]'],
    [
      map([
        [atom('b'), integer(1)],
        [atom('a'), list([])],
      ]),
      '#{a => [],b => 1}',
    ],
    [float(1e-5), '1.0e-5'],
    [float(-0), '-0.0'],
    [integer(-(2n ** 70n)), '-1180591620717411303424'],
    [{ type: 'pid', node: 'nonode@nohost', id: 85, serial: 0, creation: 1 }, '#PID<nonode@nohost.85.0>'],
    [{ type: 'port', node: 'a@b', id: 7n, creation: 1 }, '#Port<a@b.7>'],
    [{ type: 'reference', node: 'a@b', creation: 1, ids: [1, 2, 3] }, '#Ref<a@b.3.2.1>'],
    [{ type: 'export', module: 'lists', function: 'map', arity: 2 }, 'fun lists:map/2'],
  ];
  test.each(cases.map(([term, text]) => [text, term] as const))('%s', (text, term) => {
    expect(formatTerm(term)).toBe(text);
  });

  test('a term too deep for the stack is a typed error, not a RangeError', () => {
    let term: Term = list([]);
    for (let i = 0; i < 200_000; i++) term = tuple(term);
    expect(() => formatTerm(term)).toThrow(EtfError);
  });
});

describe('formatTerm and parseTerm are inverses', () => {
  test('parseTerm(formatTerm(t)) is t', () => {
    fc.assert(
      fc.property(arbitraryTerm(), (term) => {
        expect(termsEqual(parseTerm(formatTerm(term)), term)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  test('formatTerm(parseTerm(text)) is stable however the text was spaced', () => {
    fc.assert(
      fc.property(arbitraryTerm(), fc.constantFrom(' ', '\n  ', ' % note\n'), (term, space) => {
        const canonical = formatTerm(term);
        // Respace the canonical text between tokens (outside quotes) and check it reads back the same.
        const spaced = canonical.replace(
          /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(#\{|[,{}[\]|])/g,
          (match, quoted) => (quoted ? match : `${space}${match}${space}`),
        );
        expect(formatTerm(parseTerm(spaced))).toBe(canonical);
        expect(formatTerm(parseTerm(canonical))).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });
});

test('a map literal of 100,000 keys parses in linear time', () => {
  const text = `#{${Array.from({ length: 100_000 }, (_, i) => `k${i} => ${i}`).join(', ')}, k0 => last}`;
  const started = performance.now();
  const term = parseTerm(text);
  expect(performance.now() - started).toBeLessThan(3000);
  expect(term.type === 'map' && term.entries.length).toBe(100_000);
  expect(term.type === 'map' && formatTerm(term.entries[99_999]?.[1] ?? list([]))).toBe('last');
});
