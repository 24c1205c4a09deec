import { describe, expect, test } from 'vitest';
import { connectSession, type ConnectOptions } from '../../src/client/connect-session.js';
import { send, type SendOptions } from '../../src/client/send.js';
import { defaultMaxFrame } from '../../src/codec/limits.js';
import { atom, decodeTerm, encodeTerm, formatTerm, tuple } from '../../src/etf/index.js';
import { MismatchError, UsageError } from '../../src/errors.js';
import { createClientIo } from './helpers/client-io.js';
import { startTestServer, type TestPeer } from './helpers/framed-server.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

// `--format etf` in send and connect, in-process, against a test server that answers {ok, Term} the way an
// Erlang peer doing term_to_binary({ok, binary_to_term(Bin)}) does.

function sendOptions(pki: TestPki, port: number, extra: Partial<SendOptions> = {}): SendOptions {
  return {
    target: { host: '127.0.0.1', port },
    tls: { caFiles: [pki.caFile] },
    packet: 4,
    maxFrame: defaultMaxFrame(4),
    connectTimeoutMs: 5_000,
    messages: [],
    input: 'lines',
    output: 'text',
    format: 'etf',
    count: 1,
    wait: true,
    expect: [],
    expectEcho: false,
    timeoutMs: 5_000,
    json: false,
    verbose: false,
    color: false,
    ...extra,
  };
}

function connectOptions(pki: TestPki, port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    target: { host: '127.0.0.1', port },
    tls: { caFiles: [pki.caFile] },
    packet: 4,
    maxFrame: defaultMaxFrame(4),
    connectTimeoutMs: 5_000,
    input: 'lines',
    output: 'text',
    format: 'etf',
    lingerMs: 2_000,
    verbose: false,
    color: false,
    ...extra,
  };
}

/** Replies {ok, Term} to a term; `hello` (not ETF) to a frame that is not one. */
function termEcho(payload: Buffer, peer: TestPeer): void {
  try {
    peer.reply(encodeTerm(tuple(atom('ok'), decodeTerm(payload))));
  } catch {
    peer.reply('hello');
  }
}

async function termServer(pki: TestPki, packet: 1 | 4 = 4) {
  return startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, packet, onFrame: termEcho });
}

describe('send --format etf', () => {
  test('sends each message as ETF and prints each reply in Erlang syntax', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo();
    await send(
      sendOptions(pki, server.port, { messages: ['{ping, 1}', '<<"bytes">>', '#{k => [1.5]}'] }),
      io,
    );
    expect(io.output()).toBe('{ok,{ping,1}}\n{ok,<<"bytes">>}\n{ok,#{k => [1.5]}}\n');
    expect(io.errors()).toBe('');
    const received = (await server.nextPeer()).received;
    expect(received.map((bytes) => formatTerm(decodeTerm(bytes)))).toEqual([
      '{ping,1}',
      '<<"bytes">>',
      '#{k => [1.5]}',
    ]);
  });

  test('--expect compares decoded terms, whatever the spacing', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo();
    await send(sendOptions(pki, server.port, { messages: ['{ping, 1}'], expect: ['{ok,{ping,1}}'] }), io);
    await expect(
      send(
        sendOptions(pki, server.port, { messages: ['{ping, 1}'], expect: ['{ok, {ping, 2}}'] }),
        createClientIo(),
      ),
    ).rejects.toThrow(
      new MismatchError('reply 1 differs from --expect: expected "{ok,{ping,2}}" but got "{ok,{ping,1}}"'),
    );
  });

  test('a message that is not a term is a usage error before anything is sent', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo();
    const failure = send(sendOptions(pki, server.port, { messages: ['{ping, 1}', '{ping,'] }), io);
    await expect(failure).rejects.toThrow(UsageError);
    await expect(failure).rejects.toThrow(/^message 2 "\{ping," is not a valid Erlang term: at column 7/);
    expect(server.peers).toHaveLength(0);
  });

  test('an --expect that is not a term is a usage error', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    await expect(
      send(sendOptions(pki, server.port, { messages: ['a'], expect: ['{ok'] }), createClientIo()),
    ).rejects.toThrow(/^--expect "\{ok" is not a valid Erlang term/);
  });

  test('a reply that is not ETF is shown as hex with a warning, and --json reports it', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onFrame: (_payload, peer) => peer.reply('hello'),
    });
    const io = createClientIo();
    await send(sendOptions(pki, server.port, { messages: ['x'] }), io);
    expect(io.output()).toBe('68656c6c6f\n');
    expect(io.errors()).toMatch(/^tlsecho: warning: reply 1 is not an Erlang term \(.+\): shown as hex\n$/);
    const json = createClientIo();
    await send(sendOptions(pki, server.port, { messages: ['x'], json: true }), json);
    expect(JSON.parse(json.output()).replies).toEqual([
      { length: 5, hex: '68656c6c6f', error: expect.stringMatching(/.+/) },
    ]);
  });

  test('--output json prints the JSON mapping; --json carries the term text and the mapped value', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo();
    await send(sendOptions(pki, server.port, { messages: ['[1, <<"two">>, three]'], output: 'json' }), io);
    expect(io.output()).toBe('{"$tuple":["ok",[1,"two","three"]]}\n');
    const json = createClientIo();
    await send(sendOptions(pki, server.port, { messages: ['true'], json: true }), json);
    expect(JSON.parse(json.output()).replies).toEqual([
      { length: 13, term: '{ok,true}', value: { $tuple: ['ok', true] } },
    ]);
  });

  test('the encoded term, not its text, must fit the frame: {packet, 1} refuses a 300-byte binary before connecting', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki, 1);
    const message = `<<${Array.from({ length: 250 }, () => '255').join(',')}>>`; // 1,000 characters, 256 bytes as ETF
    await expect(
      send(
        sendOptions(pki, server.port, { packet: 1, maxFrame: 255, messages: [message] }),
        createClientIo(),
      ),
    ).rejects.toThrow('cannot send a 256-byte message: the maximum frame is 255 bytes');
    expect(server.peers).toHaveLength(0);
    const io = createClientIo();
    await send(sendOptions(pki, server.port, { packet: 1, maxFrame: 255, messages: ['<<1,2,3>>'] }), io);
    expect(io.output()).toBe('{ok,<<1,2,3>>}\n');
  });
});

describe('connect --format etf, piped', () => {
  test('each line is a term; a line that is not one is refused on stderr and the next line still goes', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo();
    const session = connectSession(connectOptions(pki, server.port), io);
    io.stdinStream.end('{ping, 1}\n{broken\n"str"\n');
    const error = await session.catch((e: unknown) => e);
    expect(io.output()).toBe('{ok,{ping,1}}\n{ok,"str"}\n');
    expect(io.errors()).toBe(
      "tlsecho: message 2 of stdin \"{broken\" is not a valid Erlang term: at column 8: expected ',' or '}' in a tuple, found the end of the text; not sent\n",
    );
    // The session went on, and its end still says that a message was left out (exit 2).
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^1 message was not sent; the first: message 2 of stdin/);
    expect((await server.nextPeer()).received).toHaveLength(2);
  });
});

describe('connect --format etf, on a terminal', () => {
  test('each entered line is a term; a line that is not one is refused and the session goes on', async () => {
    const pki = await makeTestPki();
    const server = await termServer(pki);
    const io = createClientIo({ tty: true });
    const session = connectSession(connectOptions(pki, server.port), io);
    io.stdinStream.write('{ping, 1}\r');
    await io.waitForOutput((out) => out.toString() === '{ok,{ping,1}}\n');
    io.stdinStream.write('{broken\r');
    io.stdinStream.write('#{k => v}\r');
    await io.waitForOutput((out) => out.toString() === '{ok,{ping,1}}\n{ok,#{k => v}}\n');
    expect(io.errors()).toContain(
      "tlsecho: that line \"{broken\" is not a valid Erlang term: at column 8: expected ',' or '}' in a tuple, found the end of the text",
    );
    io.stdinStream.end();
    await session;
    expect((await server.nextPeer()).received).toHaveLength(2);
  });
});
