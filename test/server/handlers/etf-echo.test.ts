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
});
