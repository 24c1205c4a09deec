import { describe, expect, test } from 'vitest';
import {
  checkTermReply,
  createReplyFormatter,
  encodeTermMessage,
  parseTermArgument,
  termReplyToJson,
  termTextLimit,
} from '../../src/client/term-messages.js';
import { atom, encodeTerm, integer, parseTerm, tuple } from '../../src/etf/index.js';
import { MismatchError, UsageError } from '../../src/errors.js';

const PING = encodeTerm(tuple(atom('ping'), integer(1)));

describe('outgoing term messages', () => {
  test('a message in Erlang syntax becomes the bytes term_to_binary writes', () => {
    // term_to_binary({ping, 1}) on OTP 26+: 131, SMALL_TUPLE 2, SMALL_ATOM_UTF8 "ping", SMALL_INTEGER 1.
    expect(encodeTermMessage('{ping, 1}', 'message 1').toString('hex')).toBe('836802770470696e676101');
    expect(encodeTermMessage(Buffer.from('{ping,1}.'), 'message 1')).toEqual(PING);
  });

  test('a message that is not a term is a one-line usage error naming the message and the column', () => {
    const error = (() => {
      try {
        encodeTermMessage('{ping,', 'message 2');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      'message 2 "{ping," is not a valid Erlang term: at column 7: expected a term, found the end of the text',
    );
    expect((error as UsageError).hint).toMatch(/\{ping, 1\}/);
  });

  test('long messages are cut in the error, which stays one line', () => {
    expect(() => parseTermArgument(`{${'a,'.repeat(100)}`, '--expect')).toThrow(
      /^--expect "\{a,a,a,.{53}…" is not a valid Erlang term: at column 202: /,
    );
    expect(() => parseTermArgument('[1,\n2', 'message 1')).toThrow(/^[^\n]*$/);
  });

  test('input that is not UTF-8 is refused rather than guessed at', () => {
    expect(() => encodeTermMessage(Buffer.from([0x27, 0xe9, 0x27]), 'message 1 of stdin')).toThrow(
      'message 1 of stdin is not UTF-8 text, so it cannot be read as an Erlang term',
    );
  });

  test('the text of one message may be several times the frame limit, since text is longer than bytes', () => {
    expect(termTextLimit(255)).toBe(64 * 1024);
    expect(termTextLimit(8 * 1024 * 1024)).toBe(64 * 1024 * 1024);
  });
});

describe('incoming term replies', () => {
  test('--output text prints each reply in Erlang syntax, --output json in the JSON mapping', () => {
    const warnings: string[] = [];
    const reply = encodeTerm(parseTerm('{ok, {ping, 1}, <<"hi">>, #{a => [1.5]}}'));
    const text = createReplyFormatter('etf', 'text', 4, (w) => warnings.push(w));
    expect(text(reply).toString()).toBe('{ok,{ping,1},<<"hi">>,#{a => [1.5]}}\n');
    const json = createReplyFormatter('etf', 'json', 4, (w) => warnings.push(w));
    expect(JSON.parse(json(reply).toString())).toEqual({
      $tuple: ['ok', { $tuple: ['ping', 1] }, 'hi', { a: [1.5] }],
    });
    expect(warnings).toEqual([]);
  });

  test('a reply that is not ETF is printed as hex with a warning naming it, never dropped', () => {
    const warnings: string[] = [];
    const text = createReplyFormatter('etf', 'text', 4, (w) => warnings.push(w));
    expect(text(PING).toString()).toBe('{ping,1}\n');
    expect(text(Buffer.from('hello')).toString()).toBe('68656c6c6f\n');
    expect(warnings).toEqual([expect.stringMatching(/^reply 2 is not an Erlang term \(.+\): shown as hex$/)]);
    const json = createReplyFormatter('etf', 'json', 4, () => {});
    expect(json(Buffer.from([131])).toString()).toBe('{"$hex":"83"}\n');
  });

  test('--output hex, base64 and raw show the bytes of ETF replies unchanged', () => {
    expect(createReplyFormatter('etf', 'hex', 4, () => {})(PING).toString()).toBe(
      `${PING.toString('hex')}\n`,
    );
    expect(createReplyFormatter('etf', 'raw', 1, () => {})(PING)).toEqual(
      Buffer.concat([Buffer.from([PING.length]), PING]),
    );
  });

  test('send --json reports each reply as a term, or as hex with the reason', () => {
    expect(termReplyToJson(PING)).toEqual({ length: 11, term: '{ping,1}', value: { $tuple: ['ping', 1] } });
    expect(termReplyToJson(Buffer.from('hi'))).toMatchObject({
      length: 2,
      hex: '6869',
      error: expect.any(String),
    });
  });

  test('--expect compares terms, not bytes: OTP 25 atom encodings match, 1 and 1.0 do not', () => {
    const expected = parseTerm('{ping, 1}');
    // term_to_binary({ping, 1}) on OTP 25: the atom as ATOM_EXT (100), not SMALL_ATOM_UTF8_EXT.
    const otp25 = Buffer.from('83680264000470696e676101', 'hex');
    expect(checkTermReply(1, expected, otp25, 'expect')).toBeUndefined();
    const mismatch = checkTermReply(1, expected, encodeTerm(parseTerm('{ping, 1.0}')), 'expect');
    expect(mismatch).toBeInstanceOf(MismatchError);
    expect(mismatch!.message).toBe('reply 1 differs from --expect: expected "{ping,1}" but got "{ping,1.0}"');
    expect(checkTermReply(2, expected, Buffer.from('xyz'), 'echo')!.message).toBe(
      'reply 2 is not an echo of message 2: expected "{ping,1}" but got 3 bytes that are not an Erlang term',
    );
  });
});
