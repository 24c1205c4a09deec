import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  EtfError,
  atom,
  binary,
  decodeTerm,
  encodeTerm,
  float,
  formatTerm,
  integer,
  termsEqual,
  tuple,
  type Term,
} from '../../src/etf/index.js';
import { printableText } from '../../src/etf/format.js';
import { isPrintable } from '../../src/etf/syntax.js';
import { arbitraryTerm, subterms } from './helpers/arbitraries.js';
import { needs } from '../helpers/system-tools.js';
import { OtpPeer } from './helpers/otp-peer.js';

// Every test here talks to one real OTP VM (escript), started once for the file.
needs('escript').describe('interoperability with real Erlang/OTP', () => {
  let peer: OtpPeer;
  beforeAll(async () => {
    peer = await OtpPeer.start();
  });
  afterAll(async () => {
    await peer?.close();
  });

  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

  test('OTP decodes every term Node encodes and re-encodes it to the same bytes, for minor versions 2 and 1', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryTerm(), async (term) => {
        const utf8Atoms = encodeTerm(term);
        expect(hex(await peer.reencode(utf8Atoms, 2))).toBe(hex(utf8Atoms));
        const latin1Atoms = encodeTerm(term, { minorVersion: 1 });
        expect(hex(await peer.reencode(latin1Atoms, 1))).toBe(hex(latin1Atoms));
      }),
      { numRuns: 400 },
    );
  });

  test('Node decodes what OTP encodes from formatTerm text, gets the same term back and re-encodes OTP bytes', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryTerm(), async (term) => {
        const otpBytes = await peer.evalBinary(`term_to_binary(${formatTerm(term)}, [{minor_version, 2}]).`);
        const decoded = decodeTerm(otpBytes);
        expect(termsEqual(decoded, term)).toBe(true);
        expect(hex(encodeTerm(decoded))).toBe(hex(otpBytes));
        const otp25Bytes = await peer.evalBinary(
          `term_to_binary(${formatTerm(term)}, [{minor_version, 1}]).`,
        );
        expect(hex(encodeTerm(decodeTerm(otp25Bytes), { minorVersion: 1 }))).toBe(hex(otp25Bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('formatTerm writes what io_lib:format("~0tp") writes', async () => {
    // Two documented differences are left out: ~tp shows non-UTF-8 bytes >= 160 as Latin-1 text, and OTP 25
    // does not quote the atoms maybe and else, reserved since OTP 27.
    const showsLatin1 = (t: Term) =>
      t.type === 'binary' &&
      t.data.length > 0 &&
      printableText(t.data) === undefined &&
      t.data.every((byte) => isPrintable(byte) && (byte < 0x7f || byte >= 0xa0));
    await fc.assert(
      fc.asyncProperty(arbitraryTerm(), async (term) => {
        const parts = [...subterms(term)];
        fc.pre(!parts.some(showsLatin1));
        fc.pre(!parts.some((t) => t.type === 'atom' && (t.name === 'maybe' || t.name === 'else')));
        expect(formatTerm(term)).toBe(await peer.format(encodeTerm(term)));
      }),
      { numRuns: 300 },
    );
  });

  test('floats print as OTP prints them, in the shortest form that reads back exactly', async () => {
    const samples = [
      0.1,
      100.0,
      1000.0,
      1e-4,
      1.2e-4,
      1e-5,
      2 ** 53 - 1,
      2 ** 53,
      1e21,
      5e-324,
      1.7976931348623157e308,
    ];
    for (const value of samples)
      expect(formatTerm(float(value))).toBe(await peer.format(encodeTerm(float(value))));
    await fc.assert(
      fc.asyncProperty(fc.double({ noNaN: true, noDefaultInfinity: true }), async (value) => {
        expect(formatTerm(float(value))).toBe(await peer.format(encodeTerm(float(value))));
      }),
      { numRuns: 500 },
    );
  });

  test('compressed terms travel both ways', async () => {
    const otpCompressed = await peer.evalBinary(
      'term_to_binary({lists:duplicate(500, hello), <<0:8000>>}, [compressed]).',
    );
    expect(otpCompressed[1]).toBe(80);
    const decoded = decodeTerm(otpCompressed);
    expect(formatTerm(decoded)).toMatch(/^\{\[hello,hello,.*\],<<0,0,.*>>\}$/);
    expect(hex(await peer.reencode(encodeTerm(decoded), 2))).toBe(hex(encodeTerm(decoded)));

    const nodeCompressed = encodeTerm(decoded, { compressed: true });
    expect(nodeCompressed[1]).toBe(80);
    expect(nodeCompressed.length).toBeLessThan(encodeTerm(decoded).length / 10);
    expect(await peer.equal(nodeCompressed, otpCompressed)).toBe(true);
    // Like OTP, a term that does not shrink is left uncompressed.
    expect(encodeTerm(atom('ok'), { compressed: true })).toEqual(encodeTerm(atom('ok')));
  });

  test('pids, references, ports and funs from OTP decode, print with their node and re-encode to the same bytes', async () => {
    const source =
      '{self(), make_ref(), hd(erlang:ports()), fun lists:map/2, fun(X) -> X + 1 end, list_to_pid("<0.85.0>")}';
    for (const minorVersion of [1, 2] as const) {
      const otpBytes = await peer.evalBinary(
        `term_to_binary(${source}, [{minor_version, ${minorVersion}}]).`,
      );
      const decoded = decodeTerm(otpBytes);
      expect(hex(encodeTerm(decoded, { minorVersion }))).toBe(hex(otpBytes));
      expect(formatTerm(decoded)).toMatch(
        /^\{#PID<nonode@nohost\.\d+\.0>,#Ref<nonode@nohost\.\d+\.\d+\.\d+>,#Port<nonode@nohost\.\d+>,fun lists:map\/2,#Fun<erl_eval\.\d+\.\d+>,#PID<nonode@nohost\.85\.0>\}$/,
      );
    }
  });

  test('a reference prints its words in the order Erlang prints them', async () => {
    const otpBytes = await peer.evalBinary('term_to_binary(make_ref()).');
    const erlang = await peer.format(otpBytes); // #Ref<0.A.B.C>
    expect(formatTerm(decodeTerm(otpBytes))).toBe(erlang.replace('#Ref<0.', '#Ref<nonode@nohost.'));
  });

  test('maps of more than 32 keys: OTP orders them by hash, but both sides agree on the term', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => [atom(`key${i}`), integer(i)] as const);
    const nodeBytes = encodeTerm({ type: 'map', entries });
    const otpBytes = await peer.reencode(nodeBytes);
    expect(await peer.equal(nodeBytes, otpBytes)).toBe(true);
    // Decoding keeps OTP's order, so re-encoding OTP's bytes reproduces them exactly.
    expect(hex(encodeTerm(decodeTerm(otpBytes)))).toBe(hex(otpBytes));
  });

  test('integers at every encoding boundary match OTP', async () => {
    const values = [
      0n,
      255n,
      256n,
      -1n,
      2n ** 31n - 1n,
      2n ** 31n,
      -(2n ** 31n),
      -(2n ** 31n) - 1n,
      2n ** 2040n - 1n,
      2n ** 2040n,
    ];
    for (const value of values) {
      const bytes = encodeTerm(integer(value));
      expect(hex(await peer.reencode(bytes))).toBe(hex(bytes));
    }
  });

  test('atoms of 255 UTF-8 characters round trip; Node refuses 256 as OTP does', async () => {
    const longest = atom('Ϩ'.repeat(255));
    const bytes = encodeTerm(longest);
    expect(bytes[1]).toBe(118); // ATOM_UTF8_EXT: 510 bytes
    expect(hex(await peer.reencode(bytes))).toBe(hex(bytes));
    expect(() => encodeTerm(atom('Ϩ'.repeat(256)))).toThrow(EtfError);
    await expect(peer.evalBinary(`term_to_binary(list_to_atom(lists:duplicate(256, $a))).`)).rejects.toThrow(
      /system_limit/,
    );
  });

  // Pids, references and ports are left out: OTP also checks their fields against its own node, which a
  // peer's decoder cannot know.
  test('whatever Node decodes from mutated encodings, OTP decodes to the same term', async () => {
    const seeds = [
      tuple(atom('hello'), binary('world'), integer(42), integer(2n ** 70n), float(1.5)),
      {
        type: 'map',
        entries: [
          [atom('a'), integer(1)],
          [binary('b'), { type: 'list', elements: [atom('x')], tail: atom('y') }],
        ],
      } as Term,
      tuple(
        { type: 'bitstring', data: Buffer.from([1, 2, 0xe0]), bits: 3 },
        { type: 'list', elements: [integer(1), integer(300), integer(-5)], tail: float(-0.5) },
        { type: 'list', elements: [...'text'].map((c) => integer(c.charCodeAt(0))) },
        atom('Ϩ'),
      ),
    ].map((term) => encodeTerm(term));
    const mutation = fc.record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
    });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async ({ seed, edits }) => {
        const bytes = Buffer.from(seed);
        for (const [at, value] of edits) bytes[1 + (at % (bytes.length - 1))] = value;
        let term: Term;
        try {
          term = decodeTerm(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(EtfError);
          return;
        }
        accepted++;
        const otp = await peer.reencode(bytes).catch((error: Error) => error.message);
        expect(otp).toBeInstanceOf(Buffer);
        expect(await peer.equal(encodeTerm(term), bytes)).toBe(true);
      }),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
