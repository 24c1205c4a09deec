import { deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import {
  atom,
  binary,
  decodeTerm,
  encodeTerm,
  formatTerm,
  integer,
  list,
  parseTerm,
  tuple,
  type Term,
} from '../../../src/etf/index.js';
import { connectClient, frame, ReplyReader, startServer } from '../helpers/fixture.js';

const shown = (replies: Buffer[]) => replies.map((reply) => formatTerm(decodeTerm(reply)));

// A compressed term (tag 80) around `inner`, the bytes of a term without its version byte.
function compressedTerm(inner: Buffer): Buffer {
  const head = Buffer.from([131, 80, 0, 0, 0, 0]);
  head.writeUInt32BE(inner.length, 2);
  return Buffer.concat([head, deflateSync(inner, { level: 9 })]);
}

// 64 MiB of zeros in a BINARY_EXT: about 65 KiB compressed.
function zeroBomb(): Buffer {
  const size = 64 * 1024 * 1024 - 5;
  const inner = Buffer.alloc(size + 5);
  inner[0] = 109; // BINARY_EXT
  inner.writeUInt32BE(size, 1);
  return compressedTerm(inner);
}

// A list of 999,990 zeros (SMALL_INTEGER_EXT each): under 2 KiB compressed.
function listBomb(count = 999_990): Buffer {
  const inner = Buffer.alloc(5 + 2 * count + 1);
  inner[0] = 108; // LIST_EXT
  inner.writeUInt32BE(count, 1);
  for (let i = 0; i < count; i++) inner[5 + 2 * i] = 97; // SMALL_INTEGER_EXT 0
  inner[5 + 2 * count] = 106; // NIL_EXT
  return compressedTerm(inner);
}

function nested(depth: number): Term {
  let term: Term = atom('core');
  for (let i = 0; i < depth; i++) term = tuple(term);
  return term;
}

describe('--handler etf-echo', () => {
  test('answers each Erlang term with {ok, Term}, in the bytes term_to_binary writes', async () => {
    const { port } = await startServer({ handler: 'etf-echo' });
    const reader = new ReplyReader(await connectClient(port));
    const term = parseTerm('{hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}}');
    reader.socket.write(frame(encodeTerm(term)));
    const [reply] = await reader.until(1);
    expect(reply!.toString('hex')).toBe(encodeTerm(tuple(atom('ok'), term)).toString('hex'));
    expect(formatTerm(decodeTerm(reply!))).toBe(
      '{ok,{hello,<<"world">>,42,[1.5,atom,"str"],#{key => value}}}',
    );
  });

  test('answers a frame that is not one term with {error, badarg} and goes on with the next message', async () => {
    const { port, nextClose } = await startServer({ handler: 'etf-echo' });
    const reader = new ReplyReader(await connectClient(port));
    const trailing = Buffer.concat([encodeTerm(atom('a')), Buffer.from([0])]);
    for (const payload of [Buffer.from('hello'), Buffer.alloc(0), trailing, encodeTerm(integer(7))]) {
      reader.socket.write(frame(payload));
    }
    expect(shown(await reader.until(4))).toEqual([
      '{error,badarg}',
      '{error,badarg}',
      '{error,badarg}',
      '{ok,7}',
    ]);
    reader.socket.end();
    expect((await nextClose()).reason).toBe('client-closed');
  });

  test('answers a term over a decoding limit (nesting deeper than 256) with {error, system_limit}', async () => {
    const { port } = await startServer({ handler: 'etf-echo' });
    const reader = new ReplyReader(await connectClient(port));
    reader.socket.write(Buffer.concat([frame(encodeTerm(nested(300))), frame(encodeTerm(nested(200)))]));
    const [refused, accepted] = await reader.until(2);
    expect(formatTerm(decodeTerm(refused!))).toBe('{error,system_limit}');
    expect(decodeTerm(accepted!)).toEqual(tuple(atom('ok'), nested(200)));
  });

  test('a compressed term whose {ok, Term} would exceed --max-frame is answered compressed', async () => {
    const { port } = await startServer({ handler: 'etf-echo', maxFrame: 1000 });
    const reader = new ReplyReader(await connectClient(port));
    const big = list(Array.from({ length: 2000 }, () => atom('same')));
    const compressed = encodeTerm(big, { compressed: true });
    expect(compressed.length).toBeLessThan(1000);
    reader.socket.write(frame(compressed));
    const [reply] = await reader.until(1);
    expect(reply!.length).toBeLessThanOrEqual(1000);
    expect(reply![1]).toBe(80); // COMPRESSED tag
    expect(decodeTerm(reply!)).toEqual(tuple(atom('ok'), big));
  });

  test('a reply too large even compressed becomes {error, system_limit}, and the session goes on', async () => {
    const { port } = await startServer({ handler: 'etf-echo', packet: 1 });
    const reader = new ReplyReader(await connectClient(port), 1);
    // 250 bytes of payload fit the 255-byte limit, {ok, <<…>>} does not, and random bytes do not compress.
    const noise = Buffer.from(Array.from({ length: 244 }, (_, i) => (i * 151 + 89) % 256));
    const request = encodeTerm(binary(noise));
    expect(request.length).toBeLessThanOrEqual(255);
    reader.socket.write(Buffer.concat([frame(request, 1), frame(encodeTerm(atom('next')), 1)]));
    expect(shown(await reader.until(2))).toEqual(['{error,system_limit}', '{ok,next}']);
  });

  test.each([
    ['a 65 KiB frame of compressed zeros that inflates to 64 MiB', zeroBomb, 'maxDecompressed'],
    ['a 2 KiB compressed list of 999,990 integers', listBomb, 'maxDecompressed'],
  ])(
    '%s gets {error, system_limit} and its connection closes, with the budget as the reason',
    async (_name, bomb, limit) => {
      const { port, nextClose } = await startServer({ handler: 'etf-echo' });
      const reader = new ReplyReader(await connectClient(port));
      const request = bomb();
      expect(request.length).toBeLessThan(70_000);
      const closed = nextClose();
      reader.socket.write(frame(request));
      expect(shown(await reader.end())).toEqual(['{error,system_limit}']);
      const summary = await closed;
      expect(summary.reason).toBe('protocol-error');
      expect(summary.error?.message).toMatch(
        new RegExp(
          `\\(${limit}\\).*etf-echo's budget for a ${request.length}-byte frame: \\d+ bytes decompressed, \\d+ terms`,
        ),
      );
    },
  );

  test('a small compressed term holding more terms than its frame has bytes (and over 4096) closes the connection', async () => {
    const { port, nextClose } = await startServer({ handler: 'etf-echo' });
    const reader = new ReplyReader(await connectClient(port));
    // 20,000 zeros inflate to 40 KB, inside the 64 KiB every frame may inflate to, but hold 20,001 terms.
    const request = listBomb(20_000);
    expect(request.length).toBeLessThan(4096);
    const closed = nextClose();
    reader.socket.write(frame(request));
    expect(shown(await reader.end())).toEqual(['{error,system_limit}']);
    expect((await closed).error?.message).toMatch(/has more than 4096 elements \(maxElements\)/);
  });

  test('a reply that re-encoding grows past what the request may inflate to is not compressed: {error, system_limit}', async () => {
    const { port, nextClose } = await startServer({ handler: 'etf-echo', maxFrame: 100_000 });
    const reader = new ReplyReader(await connectClient(port));
    // 250 Latin-1 atoms of 255 'é' (ATOM_EXT, 258 bytes each): 64.5 KB inflated from a few hundred bytes,
    // within budget; re-encoded as UTF-8 atoms the reply doubles to 128 KB, past --max-frame.
    const atomExt = Buffer.concat([Buffer.from([100, 0, 255]), Buffer.alloc(255, 0xe9)]);
    const inner = Buffer.concat([
      Buffer.from([108, 0, 0, 0, 250]),
      ...Array.from({ length: 250 }, () => atomExt),
      Buffer.from([106]),
    ]);
    const request = compressedTerm(inner);
    expect(request.length).toBeLessThan(1000);
    reader.socket.write(Buffer.concat([frame(request), frame(encodeTerm(atom('next')))]));
    expect(shown(await reader.until(2))).toEqual(['{error,system_limit}', '{ok,next}']);
    reader.socket.end();
    expect((await nextClose()).reason).toBe('client-closed');
  });
});
