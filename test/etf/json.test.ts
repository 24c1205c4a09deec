import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  atom,
  binary,
  charlist,
  float,
  integer,
  list,
  map,
  parseTerm,
  termToJson,
  tuple,
  type Term,
} from '../../src/etf/index.js';
import { arbitraryTerm } from './helpers/arbitraries.js';

const pid: Term = { type: 'pid', node: 'a@b', id: 85, serial: 0, creation: 1 };

test.each<[string, Term, string]>([
  ['small integer', integer(42), '42'],
  ['largest safe integer', integer(2 ** 53 - 1), '9007199254740991'],
  ['integer beyond 2^53', integer(2n ** 53n), '{"$bigint":"9007199254740992"}'],
  ['negative big integer', integer(-(2n ** 70n)), '{"$bigint":"-1180591620717411303424"}'],
  ['float', float(1.5), '1.5'],
  ['true', atom('true'), 'true'],
  ['false', atom('false'), 'false'],
  ['nil', atom('nil'), 'null'],
  ['undefined', atom('undefined'), 'null'],
  ['other atom', atom('ok'), '"ok"'],
  ['UTF-8 binary', binary('héllo\n'), '"héllo\\n"'],
  ['other binary', binary(Buffer.from([0, 1, 0xff])), '{"$base64":"AAH/"}'],
  ['bitstring', { type: 'bitstring', data: Buffer.from([1, 0xe0]), bits: 3 }, '{"$bitstring":"<<1,7:3>>"}'],
  ['printable charlist', charlist('str'), '"str"'],
  ['list of small integers that is not text', list([integer(1), integer(2)]), '[1,2]'],
  ['empty list', list([]), '[]'],
  [
    'improper list',
    list([atom('a'), atom('b')], atom('c')),
    '{"$improper":{"elements":["a","b"],"tail":"c"}}',
  ],
  ['tuple', tuple(atom('ok'), integer(1)), '{"$tuple":["ok",1]}'],
  ['map with atom and string keys', parseTerm('#{a => 1, <<"b">> => 2, "c" => 3}'), '{"a":1,"b":2,"c":3}'],
  ['map with an integer key', parseTerm('#{1 => one}'), '{"$map":[[1,"one"]]}'],
  ['map whose keys collide as strings', parseTerm('#{a => 1, <<"a">> => 2}'), '{"$map":[["a",1],["a",2]]}'],
  ['map with a key starting with $', parseTerm("#{'$tuple' => 1}"), '{"$map":[["$tuple",1]]}'],
  ['map with a key named __proto__', parseTerm("#{'__proto__' => 1}"), '{"__proto__":1}'],
  ['pid', pid, '{"$pid":"#PID<a@b.85.0>"}'],
  ['port', { type: 'port', node: 'a@b', id: 7n, creation: 1 }, '{"$port":"#Port<a@b.7>"}'],
  [
    'reference',
    { type: 'reference', node: 'a@b', creation: 1, ids: [1, 2, 3] },
    '{"$ref":"#Ref<a@b.3.2.1>"}',
  ],
  [
    'external fun',
    { type: 'export', module: 'lists', function: 'map', arity: 2 },
    '{"$fun":"fun lists:map/2"}',
  ],
])('%s', (_name, term, json) => {
  expect(JSON.stringify(termToJson(term))).toBe(json);
});

test('a map key named __proto__ stays data and does not change the prototype', () => {
  const json = termToJson(map([[atom('__proto__'), atom('polluted')]])) as Record<string, unknown>;
  expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
  expect(Object.keys(json)).toEqual(['__proto__']);
});

test('every term gives JSON that JSON.parse reads back unchanged', () => {
  fc.assert(
    fc.property(arbitraryTerm(), (term) => {
      const json = termToJson(term);
      expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    }),
    { numRuns: 500 },
  );
});

test('a charlist of a million characters converts without overflowing the stack', () => {
  expect((termToJson(charlist('x'.repeat(1_000_000))) as string).length).toBe(1_000_000);
});
