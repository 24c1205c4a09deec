import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startTestServer, type TestPeer } from '../client/helpers/framed-server.js';
import { FrameReader, frame, header } from '../hostile/helpers/clients.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startListening, type ListeningChild } from './helpers/listening-child.js';

// One side of a proxied session misbehaving mid-stream: it closes, resets, stalls, or sends a frame above
// the limit. The proxy must close the other side, say why in one line on stderr, and keep in the recording
// every frame it relayed. The client is a plain TLS socket and the server a scripted one (their own few lines
// of framing), so that each can misbehave at exactly the moment the test picks.

let pki: Awaited<ReturnType<typeof makeSharedTestPki>>;
beforeAll(async () => {
  pki = await makeSharedTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

const MAX_FRAME = 1024;

interface Session {
  relay: ListeningChild;
  client: TLSSocket;
  /** The client's TCP socket, to reset it (RST) from under TLS. */
  tcp: Socket;
  replies: FrameReader;
  server: TestPeer;
  file: string;
}

/** Proxy (recording, limits small) in front of a scripted server; a client that already exchanged one frame. */
async function openSession(
  onFrame?: (payload: Buffer, peer: TestPeer) => void,
  proxyArgs: string[] = [],
): Promise<Session> {
  const dir = await makeTempDir();
  const file = join(dir, 'session.jsonl');
  const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, onFrame });
  const relay = await startListening([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    '--cert',
    pki.server.certFile,
    '--key',
    pki.server.keyFile,
    '--ca',
    pki.caFile,
    '--max-frame',
    String(MAX_FRAME),
    '--record',
    file,
    `localhost:${server.port}`,
    ...proxyArgs,
  ]);
  const tcp = tcpConnect({ host: '127.0.0.1', port: relay.port });
  await once(tcp, 'connect');
  const client = tlsConnect({ socket: tcp, servername: 'localhost', ca: pki.caPem });
  client.on('error', () => {});
  await once(client, 'secureConnect');
  const replies = new FrameReader(client);
  const peer = server.nextPeer();
  client.write(frame('one'));
  await replies.until(1);
  return { relay, client, tcp, replies, server: await peer, file };
}

/** The TCP socket under a server-side TLS socket (Node keeps it as `_parent`), to reset it (RST). */
function tcpOf(socket: TLSSocket): Socket {
  const parent = (socket as unknown as { _parent?: Socket })._parent;
  if (parent === undefined) throw new Error('no TCP socket under this TLS socket');
  return parent;
}

/** The frames in the recording, as `dir:text`. */
async function recorded(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').slice(1);
  return lines.map((line) => {
    const { dir, data } = JSON.parse(line) as { dir: string; data: string };
    return `${dir}:${Buffer.from(data, 'base64').toString('utf8')}`;
  });
}

/** Resolves when the socket has closed; rejects after `timeoutMs`. */
function closed(socket: TLSSocket, timeoutMs = 5000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('tlsecho proxy when one side misbehaves mid-stream', () => {
  test('a client that closes its side', async () => {
    const s = await openSession();
    s.client.end(frame('two'));
    await s.replies.closed();
    await closed(s.server.socket);
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.replies.frames.map(String)).toEqual(['one', 'two']);
    expect(s.relay.stderr()).toMatch(
      /^\[#1\] the client closed its side; closing the connection to localhost:\d+$/m,
    );
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one', 'c2s:two', 's2c:two']);
  });

  test('a client that resets', async () => {
    const s = await openSession();
    s.client.write(frame('two'));
    await s.replies.until(2);
    s.tcp.resetAndDestroy();
    await closed(s.server.socket);
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(
      /^\[#1\] the client connection ended; closing the connection to localhost:\d+$/m,
    );
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one', 'c2s:two', 's2c:two']);
  });

  test('a client that stalls mid-frame', async () => {
    const s = await openSession(undefined, ['--idle-timeout', '500ms']);
    s.client.write(header(10));
    s.client.write('half');
    await closed(s.server.socket);
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(/^\[#1\] closed 127\.0\.0\.1:\d+ after \S+: idle timeout; /m);
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one']);
  });

  test('a client that sends an oversized frame', async () => {
    const s = await openSession();
    s.client.write(Buffer.concat([frame('two'), header(MAX_FRAME + 1), Buffer.alloc(100)]));
    await closed(s.server.socket);
    await s.replies.closed();
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(
      /^tlsecho: warning: \[#1\] closed 127\.0\.0\.1:\d+ after \S+: frame too large: peer declared a 1025-byte frame, above the 1024-byte maximum; /m,
    );
    // The client did not close its side: the proxy stopped reading it.
    expect(s.relay.stderr()).not.toMatch(/the client closed its side/);
    expect(s.relay.stderr()).toMatch(
      /^\[#1\] reading from the client stopped; closing the connection to localhost:\d+$/m,
    );
    expect(s.server.received.map(String)).toEqual(['one', 'two']);
    expect(await recorded(s.file)).toContain('c2s:two');
  });

  test('a server that resets', async () => {
    const s = await openSession((payload, peer) => {
      if (String(payload) === 'two') tcpOf(peer.socket).resetAndDestroy();
      else peer.reply(payload);
    });
    s.client.write(frame('two'));
    await s.replies.closed();
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(
      /^tlsecho: warning: \[#1\] connection to localhost:\d+ failed: connection to localhost:\d+ was reset; closing the client$/m,
    );
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one', 'c2s:two']);
  });

  test('a server that stalls', async () => {
    const s = await openSession(
      (payload, peer) => {
        if (String(payload) !== 'two') peer.reply(payload);
      },
      ['--idle-timeout', '500ms'],
    );
    s.client.write(frame('two'));
    await s.replies.closed();
    await closed(s.server.socket);
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(/^\[#1\] closed 127\.0\.0\.1:\d+ after \S+: idle timeout; /m);
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one', 'c2s:two']);
  });

  test('a server that sends an oversized frame', async () => {
    const s = await openSession((payload, peer) => {
      if (String(payload) === 'two') {
        peer.reply('two');
        peer.socket.write(Buffer.concat([header(MAX_FRAME + 1), Buffer.alloc(100)]));
      } else peer.reply(payload);
    });
    s.client.write(frame('two'));
    await s.replies.closed();
    await closed(s.server.socket);
    await s.relay.waitFor('stderr', /\[#1\] closed /);
    expect(s.relay.stderr()).toMatch(
      /^tlsecho: warning: \[#1\] connection to localhost:\d+ failed: bad frame from localhost:\d+: peer declared a 1025-byte frame, above the 1024-byte maximum; closing the client$/m,
    );
    expect(s.replies.frames.map(String)).toEqual(['one', 'two']);
    expect(await recorded(s.file)).toEqual(['c2s:one', 's2c:one', 'c2s:two', 's2c:two']);
  });
});
