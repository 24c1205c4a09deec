import { describe, expect, test } from 'vitest';
import { FrameTooLargeError, ProtocolError } from '../../src/errors.js';
import { frame, startTestServer, type TestPacket } from './helpers/framed-server.js';
import { collectAll, open, take } from './helpers/framed-client.js';
import { makeTestPki } from './helpers/pki.js';

// The session a verified connection becomes: frames both ways, the ends of the iteration, and the typed
// failures it ends with.

const PAYLOADS: Buffer[] = [
  Buffer.from('hello'),
  Buffer.alloc(0),
  Buffer.from([0x61, 0x00, 0x62]),
  Buffer.from([0xff, 0xfe, 0xc3]),
  Buffer.from('héllo wörld'),
];

describe('FramedClient', () => {
  test.each<TestPacket>([1, 2, 4])(
    'echoes frames with {packet, %s}: empty, NUL and invalid UTF-8 included',
    async (packet) => {
      const pki = await makeTestPki();
      const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, packet });
      const client = await open({ host: '127.0.0.1', port: server.port, packet, tls: { ca: [pki.caPem] } });
      for (const payload of PAYLOADS) await client.send(payload);
      expect(await take(client, PAYLOADS.length)).toEqual(PAYLOADS);
      expect(client.counters).toMatchObject({ framesSent: PAYLOADS.length, framesReceived: PAYLOADS.length });
    },
  );

  test('echoes lines in line mode, empty lines included', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 'line',
    });
    const client = await open({
      host: '127.0.0.1',
      port: server.port,
      packet: 'line',
      tls: { ca: [pki.caPem] },
    });
    const lines = ['one', '', 'three\r', 'nul\0inside'].map((text) => Buffer.from(text));
    for (const line of lines) await client.send(line);
    expect(await take(client, lines.length)).toEqual(lines);
  });

  test('refuses an oversized payload before writing it and keeps the connection usable', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem, packet: 1 });
    const client = await open({ host: '127.0.0.1', port: server.port, packet: 1, tls: { ca: [pki.caPem] } });
    expect(() => client.write(Buffer.alloc(256))).toThrow(FrameTooLargeError);
    await client.send(Buffer.from('still here'));
    expect(await take(client, 1)).toEqual([Buffer.from('still here')]);
    const peer = await server.nextPeer();
    expect(peer.received).toEqual([Buffer.from('still here')]);
  });

  test('ends the iteration when the server closes, and says so', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onFrame: (payload, peer) => {
        peer.reply(payload);
        peer.socket.end();
      },
    });
    const client = await open({ host: '127.0.0.1', port: server.port, tls: { ca: [pki.caPem] } });
    await client.send(Buffer.from('bye'));
    expect(await collectAll(client)).toEqual({ frames: [Buffer.from('bye')], error: undefined });
    expect(client.closedByPeer).toBe(true);
    await expect(client.send(Buffer.from('more'))).rejects.toThrow(/closed the connection/);
  });

  test('delivers every complete frame before failing on a header that declares too much', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      packet: 2,
      onConnection: (peer) =>
        peer.socket.write(Buffer.concat([frame(2, 'one'), frame(2, 'two'), Buffer.from([0xff, 0xff, 0x00])])),
    });
    const client = await open({
      host: '127.0.0.1',
      port: server.port,
      packet: 2,
      maxFrame: 1000,
      tls: { ca: [pki.caPem] },
    });
    const { frames, error } = await collectAll(client);
    expect(frames).toEqual([Buffer.from('one'), Buffer.from('two')]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toBe(
      `bad frame from 127.0.0.1:${server.port}: peer declared a 65535-byte frame, above the 1000-byte maximum`,
    );
  });

  test('fails with a truncation error when the server closes inside a frame', async () => {
    const pki = await makeTestPki();
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      onConnection: (peer) =>
        peer.socket.end(Buffer.concat([frame(4, 'whole'), frame(4, 'cut short').subarray(0, 7)])),
    });
    const client = await open({ host: '127.0.0.1', port: server.port, tls: { ca: [pki.caPem] } });
    const { frames, error } = await collectAll(client);
    expect(frames).toEqual([Buffer.from('whole')]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('ERR_FRAME_TRUNCATED');
    expect((error as ProtocolError).message).toMatch(/6 of 9 bytes missing/);
  });
});
