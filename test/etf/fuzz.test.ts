import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  EtfError,
  decodeTerm,
  encodeTerm,
  formatTerm,
  termToJson,
  termsEqual,
  type Term,
} from '../../src/etf/index.js';
import { arbitraryTerm } from './helpers/arbitraries.js';

/**
 * Decodes hostile bytes. Whatever they are, the outcome is a term or an EtfError, and a term must survive
 * everything a caller does next: printing, JSON, and re-encoding to bytes that decode to the same term.
 */
function decodeHostile(bytes: Uint8Array): void {
  let term: Term;
  try {
    term = decodeTerm(bytes, { maxDecompressed: 1024 * 1024 });
  } catch (error) {
    if (!(error instanceof EtfError)) throw error;
    expect(error.message).not.toContain('\n');
    return;
  }
  formatTerm(term);
  JSON.stringify(termToJson(term));
  expect(termsEqual(decodeTerm(encodeTerm(term)), term)).toBe(true);
}

const seeds = fc
  .sample(arbitraryTerm({ maxDepth: 3 }), { numRuns: 60, seed: 42 })
  .flatMap((term) => [encodeTerm(term), encodeTerm(term, { compressed: true })]);

describe('fuzzing decodeTerm: only EtfError, never a crash or a hang', () => {
  test('random bytes after the version byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) =>
        decodeHostile(Buffer.concat([Buffer.from([131]), bytes])),
      ),
      { numRuns: 10_000 },
    );
  });

  test('random bytes that start with a real tag and a plausible header', () => {
    const tags = [
      70, 77, 80, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112,
      113, 114, 115, 116, 118, 119, 120,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...tags), fc.uint8Array({ maxLength: 48 }), (tag, rest) =>
        decodeHostile(Buffer.concat([Buffer.from([131, tag]), rest])),
      ),
      { numRuns: 10_000 },
    );
  });

  test('valid encodings with bytes overwritten, inserted or cut off', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), {
          minLength: 1,
          maxLength: 4,
        }),
      )
      .map(([seed, edits]) => {
        let bytes = Buffer.from(seed);
        for (const [position, value, kind] of edits) {
          const at = 1 + (position % Math.max(1, bytes.length - 1));
          if (kind === 0) bytes[at] = value;
          else if (kind === 1)
            bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([value]), bytes.subarray(at)]);
          else bytes = bytes.subarray(0, at);
        }
        return bytes;
      });
    fc.assert(fc.property(mutated, decodeHostile), { numRuns: 10_000 });
  });

  test('every proper prefix of a valid encoding is refused as invalid', () => {
    for (const seed of seeds.slice(0, 40)) {
      for (let length = 0; length < seed.length; length++) {
        expect(() => decodeTerm(seed.subarray(0, length))).toThrow(EtfError);
      }
    }
  });
});
