import fc from 'fast-check';
import { encodeTerm } from '../../../src/etf/encode.js';
import { atom, binary, charlist, float, integer, type Term } from '../../../src/etf/term.js';

export interface TermArbitraryOptions {
  /** Deepest nesting of containers. */
  maxDepth?: number;
  /** Most elements in one container. */
  maxLength?: number;
}

const anyInteger: fc.Arbitrary<Term> = fc
  .oneof(
    fc.integer({ min: 0, max: 255 }), // SMALL_INTEGER_EXT
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), // INTEGER_EXT
    fc.constantFrom(-(2 ** 31) - 1, 2 ** 31, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }), // SMALL_BIG_EXT
    fc.bigInt({ min: 2n ** 2040n, max: 2n ** 2100n }).chain((n) => fc.constantFrom(n, -n)), // LARGE_BIG_EXT
  )
  .map(integer);

// -0.0 is left out: OTP 25 treats it as equal to 0.0 (=:=), so it would make map keys collide; literal tests cover it.
const anyFloat: fc.Arbitrary<Term> = fc
  .double({ noNaN: true, noDefaultInfinity: true })
  .filter((value) => !Object.is(value, -0))
  .map(float);

const anyAtom: fc.Arbitrary<Term> = fc
  .oneof(
    fc.stringMatching(/^[a-z][a-zA-Z0-9_@]{0,15}$/),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
    fc.constantFrom(
      '',
      'true',
      'false',
      'nil',
      'undefined',
      'end',
      'Hello world',
      'héllo',
      'Ϩ',
      'x'.repeat(255),
    ),
  )
  .map(atom);

const anyBinary: fc.Arbitrary<Term> = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((bytes) => binary(Buffer.from(bytes))),
  fc.string({ unit: 'binary', maxLength: 16 }).map((text) => binary(text)),
  fc.string({ unit: 'grapheme-ascii', maxLength: 16 }).map((text) => binary(text)),
);

const anyBitstring: fc.Arbitrary<Term> = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 7 }))
  .map(([bytes, bits]) => {
    const data = Buffer.from(bytes);
    data[data.length - 1] = (data[data.length - 1] as number) & ((0xff << (8 - bits)) & 0xff);
    return { type: 'bitstring', data, bits } as Term;
  });

const anyCharlist: fc.Arbitrary<Term> = fc.oneof(
  fc
    .array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 })
    .map((bytes): Term => ({ type: 'list', elements: bytes.map((value) => integer(value)) })), // STRING_EXT
  fc.string({ unit: 'binary', maxLength: 12 }).map(charlist),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map(charlist),
);

const scalar: fc.Arbitrary<Term> = fc.oneof(
  anyInteger,
  anyFloat,
  anyAtom,
  anyBinary,
  anyBitstring,
  anyCharlist,
);

/**
 * Random terms of every kind term syntax can write, with maps of at most 32 keys (whose encoding OTP
 * fixes; larger maps follow the VM's hash order). Keys are unique by their encoding.
 */
export function arbitraryTerm(options: TermArbitraryOptions = {}): fc.Arbitrary<Term> {
  const maxLength = options.maxLength ?? 4;
  const { term } = fc.letrec<{ term: Term; container: Term }>((tie) => ({
    term: fc.oneof({ maxDepth: options.maxDepth ?? 3, depthSize: 'small' }, scalar, tie('container')),
    container: fc.oneof(
      fc.array(tie('term'), { maxLength }).map((elements): Term => ({ type: 'tuple', elements })),
      fc.array(tie('term'), { maxLength }).map((elements): Term => ({ type: 'list', elements })),
      fc
        .tuple(fc.array(tie('term'), { minLength: 1, maxLength }), tie('term'))
        .filter(([, tail]) => tail.type !== 'list')
        .map(([elements, tail]): Term => ({ type: 'list', elements, tail })),
      fc
        .uniqueArray(fc.tuple(tie('term'), tie('term')), {
          maxLength,
          selector: ([key]) => encodeTerm(key).toString('hex'),
        })
        .map((entries): Term => ({ type: 'map', entries })),
    ),
  }));
  return term;
}

/** Walks a term and its sub-terms. */
export function* subterms(term: Term): Generator<Term> {
  yield term;
  if (term.type === 'tuple' || term.type === 'list')
    for (const element of term.elements) yield* subterms(element);
  if (term.type === 'list' && term.tail) yield* subterms(term.tail);
  if (term.type === 'map')
    for (const [key, value] of term.entries) yield* [...subterms(key), ...subterms(value)];
  if (term.type === 'fun') for (const variable of term.freeVars) yield* subterms(variable);
}
