import { deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ExitCode } from '../../src/exit-codes.js';
import { EtfError, decodeTerm, encodeTerm, formatTerm, type Term } from '../../src/etf/index.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const decodeHex = (text: string) => decodeTerm(hex(text));
const nodeAtom = '770D6E6F6E6F6465406E6F686F7374'; // 'nonode@nohost' as SMALL_ATOM_UTF8_EXT

function decodeError(bytes: Uint8Array): EtfError {
  try {
    decodeTerm(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(EtfError);
    return error as EtfError;
  }
  throw new Error('decoding succeeded');
}

describe('decodeTerm: encodings OTP no longer writes by default', () => {
  test.each([
    ['FLOAT_EXT', `8363${Buffer.from('1.50000000000000000000e+00').toString('hex')}${'00'.repeat(5)}`, '1.5'],
    ['SMALL_ATOM_EXT (Latin-1)', '83730269E9', 'ié'],
    ['ATOM_EXT with Latin-1 bytes', '8364000361C3A9', "'aÃ©'"],
    ['SMALL_BIG_EXT with leading zero digits', '836E03000100 00', '1'],
    ['SMALL_BIG_EXT of no digits', '836E0000', '0'],
    ['LIST_EXT whose tail is another LIST_EXT', '836C000000016101 6C0000000161026A', '[1,2]'],
    ['LIST_EXT whose tail is a STRING_EXT', '836C000000016101 6B00026263', '[1,98,99]'],
    ['LIST_EXT of no elements with a tail', '836C000000006101', '1'],
    ['BIT_BINARY_EXT with 8 bits in its last byte', '834D000000010805', '<<5>>'],
    ['BIT_BINARY_EXT of no bytes', '834D0000000000', '<<>>'],
    ['BIT_BINARY_EXT with unused bits set', '834D0000000103FF', '<<7:3>>'],
    ['PID_EXT', `8367${nodeAtom}0000005500000000 02`, '#PID<nonode@nohost.85.0>'],
    ['NEW_PORT_EXT', `8359${nodeAtom}0000000700000001`, '#Port<nonode@nohost.7>'],
    ['PORT_EXT', `8366${nodeAtom}0000000701`, '#Port<nonode@nohost.7>'],
    ['V4_PORT_EXT', `8378${nodeAtom}000000010000000200000003`, '#Port<nonode@nohost.4294967298>'],
    ['REFERENCE_EXT', `8365${nodeAtom}0000002A01`, '#Ref<nonode@nohost.42>'],
    ['NEW_REFERENCE_EXT', `837200 02${nodeAtom}01 00000001 00000002`, '#Ref<nonode@nohost.2.1>'],
    [
      'a pid on a node that must be quoted',
      '8358771061 2D6240686F73742E6578616D706C65 00000001 00000000 00000000',
      "#PID<'a-b@host.example'.1.0>",
    ],
  ])('%s', (_name, bytes, text) => {
    const term = decodeHex(bytes);
    expect(formatTerm(term)).toBe(text);
    // The newest encoding of the same term decodes to the same term.
    expect(formatTerm(decodeTerm(encodeTerm(term)))).toBe(text);
  });

  test('old pid, port and reference encodings are re-encoded in their newest form, as OTP 23+ does', () => {
    expect(encodeTerm(decodeHex(`8367${nodeAtom}000000550000000002`))[1]).toBe(88); // NEW_PID_EXT
    expect(encodeTerm(decodeHex(`8366${nodeAtom}0000000701`))[1]).toBe(89); // NEW_PORT_EXT
    expect(encodeTerm(decodeHex(`8378${nodeAtom}000000010000000200000003`))[1]).toBe(120); // V4 for 64-bit ids
    expect(encodeTerm(decodeHex(`8365${nodeAtom}0000002A01`))[1]).toBe(90); // NEWER_REFERENCE_EXT
  });

  test('a STRING_EXT decodes to a list of integers, the same term as the LIST_EXT of those integers', () => {
    const term = decodeHex('836B0003616263');
    expect(term).toEqual({
      type: 'list',
      elements: [97, 98, 99].map((value) => ({ type: 'integer', value })),
    });
  });

  test('integers decode as numbers when safe and as bigints beyond', () => {
    expect(decodeHex('836E0700FFFFFFFFFFFF1F')).toEqual({ type: 'integer', value: Number.MAX_SAFE_INTEGER });
    expect(decodeHex('836E0700 000000000000 20')).toEqual({ type: 'integer', value: 2n ** 53n });
    expect(decodeHex('836E0701 000000000000 20')).toEqual({ type: 'integer', value: -(2n ** 53n) });
  });
});

describe('decodeTerm refuses what binary_to_term refuses, with a typed error naming the byte', () => {
  test.each<[string, string, RegExp]>([
    ['no bytes', '', /no bytes/],
    ['a wrong version byte', '8261', /starts with byte 130, not the version byte 131/],
    ['only the version byte', '83', /needs 1 bytes but only 0 remain at byte 1/],
    ['an unknown tag', '83FF', /unknown tag 255 at byte 1/],
    ['bytes after the term', '83610100', /1 unexpected bytes after the term at byte 3/],
    ['a truncated INTEGER_EXT', '836200', /needs 4 bytes but only 1 remain at byte 2/],
    ['a truncated binary', '836D0000000561', /BINARY_EXT needs 5 bytes but only 1 remain/],
    ['an atom that is not UTF-8', '837701FF', /atom is not valid UTF-8 at byte 1/],
    ['a Latin-1 atom of 256 characters', `83640100${'61'.repeat(256)}`, /atom of 256 characters/],
    ['a map with a repeated key', '8374000000026101610161016102', /map has a repeated key at byte 1/],
    ['an infinite float', '83467FF0000000000000', /float is not finite/],
    ['a NaN float', '83467FF8000000000000', /float is not finite/],
    ['a FLOAT_EXT that is not a number', `8363${'41'.repeat(31)}`, /FLOAT_EXT does not hold a number/],
    ['a bitstring claiming 9 bits', '834D000000010905', /with 9 bits in its last byte/],
    ['an empty bitstring claiming 3 bits', '834D0000000003', /of 0 bytes with 3 bits/],
    ['a pid whose node is not an atom', '83586101', /the node of a pid is tag 97, not an atom/],
    ['a reference of 6 words', `835A0006${nodeAtom}00000000${'00000001'.repeat(6)}`, /reference of 6 words/],
    ['a compressed term that is not zlib', '835000000005DEADBEEF', /compressed data does not inflate/],
  ])('%s', (_name, bytes, message) => {
    const error = decodeError(hex(bytes));
    expect(error.code).toBe('ERR_ETF_INVALID');
    expect(error.message).toMatch(/^invalid Erlang term: /);
    expect(error.message).toMatch(message);
  });

  test('tags of the distribution protocol are refused as unsupported', () => {
    for (const bytes of ['83520001', '837900', '83750000']) {
      expect(decodeError(hex(bytes)).code).toBe('ERR_ETF_UNSUPPORTED');
    }
  });

  test('errors inside a compressed term say the offset is in the decompressed bytes', () => {
    const broken = Buffer.concat([hex('835000000001'), deflateSync(Buffer.from([0xff]))]);
    expect(decodeError(broken).message).toBe(
      'invalid Erlang term: unknown tag 255 at byte 0 of the decompressed term',
    );
  });

  test('an EtfError is a ProtocolError: exit code 7, one line, no stack in the message', () => {
    const error = decodeError(hex('83FF'));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.exitCode).toBe(ExitCode.PROTOCOL);
    expect(error.offset).toBe(1);
    expect(error.message).not.toContain('\n');
  });

  test('decoding accepts a plain Uint8Array as well as a Buffer', () => {
    const term: Term = decodeTerm(new Uint8Array([131, 97, 7]));
    expect(term).toEqual({ type: 'integer', value: 7 });
  });
});
