import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeTerm, parseTerm } from '../../src/etf/index.js';
import { Recorder, type Direction } from '../../src/record/recording.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startServeChild, type ServeChild } from '../client/helpers/serve-child.js';

// `tlsecho replay --format etf` as users run it: child processes, real TLS on loopback with verification on,
// recordings written by the recorder `proxy --record` uses, replayed against `tlsecho serve`.

let pki: Awaited<ReturnType<typeof makeSharedTestPki>>;
beforeAll(async () => {
  pki = await makeSharedTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

/** `tlsecho serve` with `handler`; killed when the test ends. */
const serve = (handler: 'echo' | 'etf-echo') =>
  startServeChild(['--cert', pki.server.certFile, '--key', pki.server.keyFile, '--handler', handler]);

const term = (text: string, options?: Parameters<typeof encodeTerm>[1]) =>
  encodeTerm(parseTerm(text), options);
// As OTP 25's term_to_binary/1 writes them: atoms as ATOM_EXT (minor version 1).
const otp25 = (text: string) => term(text, { minorVersion: 1 });

/** A one-connection recording of `frames`, written as `proxy --record` writes it. */
async function recording(frames: Array<[Direction, Buffer]>): Promise<string> {
  const file = join(await makeTempDir(), 'session.jsonl');
  const recorder = Recorder.open(file, { target: 'localhost:7000', packet: 4 });
  frames.forEach(([dir, data], i) => recorder.record(1, dir, i, data));
  recorder.close();
  return file;
}

const replay = (file: string, server: ServeChild, args: string[] = []) =>
  runCli(['replay', file, `localhost:${server.port}`, '--ca', pki.caFile, ...args]);

describe('replay --format etf', () => {
  test('a reply that is the recorded term in other bytes (ATOM_EXT now UTF-8 atoms) matches only with --format etf', async () => {
    const server = await serve('etf-echo');
    const file = await recording([
      ['c2s', term('{ping,1}')],
      ['s2c', otp25('{ok,{ping,1}}')],
    ]);
    const etf = await replay(file, server, ['--format', 'etf']);
    expect(etf).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'connection 1: 1 frame sent, 1 of 1 replies match (1 as equal terms in other bytes)\n',
    });
    const bytes = await replay(file, server);
    expect(bytes.code).toBe(8);
    expect(bytes.stderr.split('\n')[0]).toBe(
      'tlsecho: connection 1: reply 1 differs from the recording: expected "\\x83h\\x02d\\0\\x02okh\\x02d\\0\\x04pinga\\x01" (19 bytes) but got "\\x83h\\x02w\\x02okh\\x02w\\x04pinga\\x01" (17 bytes) (first difference at byte 3)',
    );
  });

  test('compressed and SMALL_BIG_EXT encodings of the recorded terms match', async () => {
    const server = await serve('echo');
    // The echo server sends back what it got: the plain encoding, where the recording holds another one.
    const data = term('{data,<<0:8000>>}');
    const compressed = term('{data,<<0:8000>>}', { compressed: true });
    expect(compressed.length).toBeLessThan(data.length);
    const file = await recording([
      ['c2s', data],
      ['s2c', compressed],
      ['c2s', term('5')],
      ['s2c', Buffer.from([131, 110, 1, 0, 5])], // 5 as SMALL_BIG_EXT
    ]);
    const r = await replay(file, server, ['--format', 'etf']);
    expect(r).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'connection 1: 2 frames sent, 2 of 2 replies match (2 as equal terms in other bytes)\n',
    });
    expect((await replay(file, server)).code).toBe(8);
  });

  test('a different term exits 8 with both replies shown as terms', async () => {
    const server = await serve('etf-echo');
    const file = await recording([
      ['c2s', term('{ping,1}')],
      ['s2c', term('{ok,{ping,2}}')],
    ]);
    const r = await replay(file, server, ['--format', 'etf']);
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 1 differs from the recording: expected {ok,{ping,2}} but got {ok,{ping,1}}',
      'connection 1: 1 frame sent, 0 of 1 replies match',
      `tlsecho: 1 of 1 reply differs from the recording ${file}`,
    ]);
  });

  test('a reply that is not a term is compared and shown as bytes, with the reason', async () => {
    const server = await serve('echo');
    const file = await recording([
      ['c2s', Buffer.from('hello')],
      ['s2c', term('{ok,hello}')],
      ['c2s', Buffer.from('abc')],
      ['s2c', Buffer.from('abd')],
      ['c2s', Buffer.from('same')],
      ['s2c', Buffer.from('same')],
    ]);
    const r = await replay(file, server, ['--format', 'etf']);
    expect(r.code).toBe(8);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'tlsecho: connection 1: reply 1 differs from the recording: expected {ok,hello} but got "hello" (5 bytes, not an Erlang term: starts with byte 104, not the version byte 131)',
      'tlsecho: connection 1: reply 2 differs from the recording: expected "abd" (3 bytes, not an Erlang term: starts with byte 97, not the version byte 131) but got "abc" (3 bytes, not an Erlang term: starts with byte 97, not the version byte 131) (first difference at byte 2)',
      'connection 1: 3 frames sent, 1 of 3 replies match',
      `tlsecho: 2 of 3 replies differ from the recording ${file}`,
    ]);
  });

  test('--json adds each differing reply as terms, or as hex with the reason', async () => {
    const server = await serve('echo');
    const file = await recording([
      ['c2s', Buffer.from('hi')],
      ['s2c', term('{ok,hi}')],
      ['c2s', term('{ping,1}')],
      ['s2c', otp25('{ping,1}')],
    ]);
    const r = await replay(file, server, ['--format', 'etf', '--json']);
    expect(r.code).toBe(8);
    const report = JSON.parse(r.stdout) as { ok: boolean; connections: Array<Record<string, unknown>> };
    expect(report.ok).toBe(false);
    expect(report.connections).toEqual([
      {
        conn: 1,
        ok: false,
        sent: 2,
        expected: 2,
        received: 2,
        matched: 1,
        termMatched: 1,
        mismatches: [
          'reply 1 differs from the recording: expected {ok,hi} but got "hi" (2 bytes, not an Erlang term: starts with byte 104, not the version byte 131)',
        ],
        differences: [
          {
            reply: 1,
            expected: {
              length: 11,
              term: '{ok,hi}',
              value: { $tuple: ['ok', 'hi'] },
            },
            got: {
              length: 2,
              hex: '6869',
              error: 'invalid Erlang term: starts with byte 104, not the version byte 131',
            },
          },
        ],
      },
    ]);
  });
});
